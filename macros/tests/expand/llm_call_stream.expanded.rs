// Expansion snapshot (macros/src/snapshots.rs); regenerate with
// `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.
//
// Input:
//
// #[llm_call(provider = "anthropic", model = "claude-opus-4.6", stream)]
// fn stream_code(prompt: &str) -> Result<impl Stream<Item = Chunk>, ApiError> {
//     connect(prompt)
// }
// Expansion:

fn stream_code(prompt: &str) -> Result<impl Stream<Item = Chunk>, ApiError> {
    static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
        kind: ::factory_observability::__private::CallKind::LlmCall,
        name: "chat",
        function: ::core::concat!(::core::module_path!(), "::", "stream_code"),
        cache: ::factory_observability::__private::SiteCache::new(),
    };
    let __fo_call = ::factory_observability::__private::Call::start(
        &__FO_SITE,
        |__fo_fields: &mut ::factory_observability::__private::Fields| {
            let _ = &__fo_fields;
            __fo_fields
                .llm(
                    ::factory_observability::__private::StringValue::from("anthropic"),
                    ::factory_observability::__private::StringValue::from(
                        "claude-opus-4.6",
                    ),
                );
        },
    );
    ::factory_observability::__private::Call::run_sync_stream(
        __fo_call,
        move || { connect(prompt) },
        |__fo_call, __fo_ret| {
            #[allow(unused_imports)]
            use ::factory_observability::__private::{
                ViaPlainStream as _, ViaStreamInResult as _,
            };
            (&&::factory_observability::__private::StreamShape(&__fo_ret))
                .__fo_stream_shape()
                .complete(
                    __fo_call,
                    __fo_ret,
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
                        __fo_report
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
                        __fo_report
                    },
                )
        },
    )
}
