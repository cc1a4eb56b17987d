// Expansion snapshot (macros/src/snapshots.rs); regenerate with
// `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.
//
// Input:
//
// #[pipeline_stage(name = "typecheck", fields(file_count = files.len()))]
// fn typecheck(files: &[String]) -> Result<(), CheckError> {
//     if files.is_empty() {
//         return Err(CheckError::NothingToCheck);
//     }
//     Ok(())
// }
// Expansion:

fn typecheck(files: &[String]) -> Result<(), CheckError> {
    const _: () = ::core::assert!(
        !
        ::factory_observability::__private::reserved_key(::factory_observability::__private::CallKind::Stage,
        "file_count",),
        "`file_count` is recorded by #[pipeline_stage] itself: choose another key, e.g. `app.file_count`"
    );
    static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
        kind: ::factory_observability::__private::CallKind::Stage,
        name: "typecheck",
        function: ::core::concat!(::core::module_path!(), "::", "typecheck"),
        cache: ::factory_observability::__private::SiteCache::new(),
    };
    let __fo_call = ::factory_observability::__private::SyncCall::start(
        &__FO_SITE,
        |__fo_fields: &mut ::factory_observability::__private::Fields| {
            let _ = &__fo_fields;
            ::factory_observability::__private::Fields::record(
                __fo_fields,
                "file_count",
                &(files.len()),
            );
        },
    );
    ::factory_observability::__private::SyncCall::run(
        __fo_call,
        move || {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::let_with_type_underscore,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let __fo_fake_return: Result<(), CheckError> = loop {};
                return __fo_fake_return;
            }
            if files.is_empty() {
                return Err(CheckError::NothingToCheck);
            }
            Ok(())
        },
        |__fo_ret| {
            #[allow(unused_imports)]
            use ::factory_observability::__private::{
                ViaAnything as _, ViaOutcome as _, ViaResult as _, ViaResultDebug as _,
                ViaResultDisplay as _, ViaResultOutcome as _, ViaResultOutcomeDebug as _,
                ViaResultOutcomeDisplay as _,
            };
            let __fo_report = (&&&&&&&&::factory_observability::__private::Classify(
                __fo_ret,
            ))
                .__fo_report();
            (
                __fo_report,
                {
                    #[allow(unused_imports)]
                    use ::factory_observability::__private::{
                        ViaNoTests as _, ViaResultTests as _, ViaTests as _,
                    };
                    (&&&::factory_observability::__private::TestsOf(__fo_ret))
                        .__fo_tests()
                },
            )
        },
    )
}
