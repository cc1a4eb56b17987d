// Expansion snapshot (macros/src/snapshots.rs); regenerate with
// `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.
//
// Input:
//
// #[handler(name = "create_task", fields(task.title_length = body.title.len()))]
// async fn create_task(
//     State(store): State<Store>,
//     Json(body): Json<NewTask>,
// ) -> Result<(StatusCode, Json<Task>), ApiError> {
//     let task = store.insert(body.title)?;
//     Ok((StatusCode::CREATED, Json(task)))
// }
// Expansion:

async fn create_task(
    State(store): State<Store>,
    Json(body): Json<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    const _: () = ::core::assert!(
        !
        ::factory_observability::__private::reserved_key(::factory_observability::__private::CallKind::Handler,
        "task.title_length",),
        "`task.title_length` is recorded by #[handler] itself: choose another key, e.g. `app.task_title_length`"
    );
    static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
        kind: ::factory_observability::__private::CallKind::Handler,
        name: "create_task",
        function: ::core::concat!(::core::module_path!(), "::", "create_task"),
        cache: ::factory_observability::__private::SiteCache::new(),
    };
    let __fo_call = ::factory_observability::__private::Call::start(
        &__FO_SITE,
        |__fo_fields: &mut ::factory_observability::__private::Fields| {
            let _ = &__fo_fields;
            ::factory_observability::__private::Fields::record(
                __fo_fields,
                "task.title_length",
                &(body.title.len()),
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
                    let __fo_fake_return: Result<(StatusCode, Json<Task>), ApiError> = loop {};
                    return __fo_fake_return;
                }
                let task = store.insert(body.title)?;
                Ok((StatusCode::CREATED, Json(task)))
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
