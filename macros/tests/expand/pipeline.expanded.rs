// Expansion snapshot (macros/src/snapshots.rs); regenerate with
// `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.
//
// Input:
//
// #[pipeline]
// impl Factory {
//     #[skip_stage]
//     fn new() -> Self {
//         Factory
//     }
//     fn plan(&self, spec: &Spec) -> Result<Plan, FactoryError> {
//         Ok(Plan::from(spec))
//     }
//     async fn implement(&self, plan: &Plan) -> Result<Code, FactoryError> {
//         self.llm.implement(plan).await
//     }
// }
// Expansion:

impl Factory {
    fn new() -> Self {
        Factory
    }
    fn plan(&self, spec: &Spec) -> Result<Plan, FactoryError> {
        static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
            kind: ::factory_observability::__private::CallKind::Stage,
            name: "plan",
            function: ::core::concat!(
                ::core::module_path!(), "::", "Factory", "::", "plan"
            ),
            cache: ::factory_observability::__private::SiteCache::new(),
        };
        let __fo_call = ::factory_observability::__private::SyncCall::start(
            &__FO_SITE,
            |__fo_fields: &mut ::factory_observability::__private::Fields| {
                let _ = &__fo_fields;
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
                    let __fo_fake_return: Result<Plan, FactoryError> = loop {};
                    return __fo_fake_return;
                }
                Ok(Plan::from(spec))
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
    async fn implement(&self, plan: &Plan) -> Result<Code, FactoryError> {
        static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
            kind: ::factory_observability::__private::CallKind::Stage,
            name: "implement",
            function: ::core::concat!(
                ::core::module_path!(), "::", "Factory", "::", "implement"
            ),
            cache: ::factory_observability::__private::SiteCache::new(),
        };
        let __fo_call = ::factory_observability::__private::Call::start(
            &__FO_SITE,
            |__fo_fields: &mut ::factory_observability::__private::Fields| {
                let _ = &__fo_fields;
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
                    self.llm.implement(plan).await
                },
                |__fo_ret| {
                    #[allow(unused_imports)]
                    use ::factory_observability::__private::{
                        ViaAnything as _, ViaOutcome as _, ViaResult as _,
                        ViaResultDebug as _, ViaResultDisplay as _,
                        ViaResultOutcome as _, ViaResultOutcomeDebug as _,
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
            .await
    }
}
