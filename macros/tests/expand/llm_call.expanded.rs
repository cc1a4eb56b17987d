// Expansion snapshot (macros/src/snapshots.rs); regenerate with
// `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.
//
// Input:
//
// #[llm_call(provider = "openai", model = self.model.as_str(), prompt = prompt)]
// async fn complete(&self, prompt: &str) -> Result<ChatResponse, ApiError> {
//     self.client.chat(&self.model, prompt).await
// }
// Expansion:

async fn complete(&self, prompt: &str) -> Result<ChatResponse, ApiError> {
    static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
        kind: ::factory_observability::__private::CallKind::LlmCall,
        name: "chat",
        function: ::core::concat!(::core::module_path!(), "::", "complete"),
        cache: ::factory_observability::__private::SiteCache::new(),
    };
    let __fo_call = ::factory_observability::__private::Call::start(
        &__FO_SITE,
        |__fo_fields: &mut ::factory_observability::__private::Fields| {
            let _ = &__fo_fields;
            __fo_fields
                .llm(
                    ::factory_observability::__private::StringValue::from("openai"),
                    ::factory_observability::__private::text(&(self.model.as_str())),
                );
            __fo_fields.prompt(&prompt);
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
                    let __fo_fake_return: Result<ChatResponse, ApiError> = loop {};
                    return __fo_fake_return;
                }
                self.client.chat(&self.model, prompt).await
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
                    ::factory_observability::__private::LlmResponse::of(
                        ::core::convert::identity(__fo_ret),
                    ),
                )
            },
        )
        .await
}
