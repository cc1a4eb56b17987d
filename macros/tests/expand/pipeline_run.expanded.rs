// Expansion snapshot (macros/src/snapshots.rs); regenerate with
// `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.
//
// Input:
//
// #[pipeline_run(
//     name = "new_product",
//     run_id = spec.id.as_str(),
//     fields(app.spec = spec.title.as_str())
// )]
// async fn run(factory: &Factory, spec: &Spec) -> Result<Code, FactoryError> {
//     let plan = factory.plan(spec)?;
//     factory.implement(&plan).await
// }
// Expansion:

async fn run(factory: &Factory, spec: &Spec) -> Result<Code, FactoryError> {
    const _: () = ::core::assert!(
        !
        ::factory_observability::__private::reserved_key(::factory_observability::__private::CallKind::Run,
        "app.spec",),
        "`app.spec` is recorded by #[pipeline_run] itself: choose another key, e.g. `app.app_spec`"
    );
    static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
        kind: ::factory_observability::__private::CallKind::Run,
        name: "new_product",
        function: ::core::concat!(::core::module_path!(), "::", "run"),
        cache: ::factory_observability::__private::SiteCache::new(),
    };
    let __fo_call = ::factory_observability::__private::Call::start(
        &__FO_SITE,
        |__fo_fields: &mut ::factory_observability::__private::Fields| {
            let _ = &__fo_fields;
            ::factory_observability::__private::Fields::record(
                __fo_fields,
                "app.spec",
                &(spec.title.as_str()),
            );
            ::factory_observability::__private::Fields::run_id(
                __fo_fields,
                &(spec.id.as_str()),
            );
        },
    );
    ::factory_observability::__private::Call::instrument(
            __fo_call,
            async move {
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
                    let __fo_fake_return: Result<Code, FactoryError> = loop {};
                    return __fo_fake_return;
                }
                let plan = factory.plan(spec)?;
                factory.implement(&plan).await
            },
            |__fo_ret| {
                #[allow(unused_imports)]
                use ::factory_observability::__private::{
                    ViaAnything as _, ViaOutcome as _, ViaResult as _,
                    ViaResultDebug as _, ViaResultDisplay as _, ViaResultOutcome as _,
                    ViaResultOutcomeDebug as _, ViaResultOutcomeDisplay as _,
                };
                let __fo_report = (&&&&&&&&::factory_observability::__private::Classify(
                    __fo_ret,
                ))
                    .__fo_report();
                __fo_report
            },
        )
        .await
}
