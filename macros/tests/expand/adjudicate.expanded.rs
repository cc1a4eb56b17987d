// Expansion snapshot (macros/src/snapshots.rs); regenerate with
// `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.
//
// Input:
//
// #[adjudicate(name = "pick_patch")]
// fn pick(codex: f64, claude: f64) -> Verdict<Patch> {
//     Verdict::new(
//         Patch::Codex,
//         "codex",
//         vec![CandidateScore::new("codex", codex), CandidateScore::new("claude", claude),],
//     )
// }
// Expansion:

fn pick(codex: f64, claude: f64) -> Verdict<Patch> {
    static __FO_SITE: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
        kind: ::factory_observability::__private::CallKind::Adjudicate,
        name: "pick_patch",
        function: ::core::concat!(::core::module_path!(), "::", "pick"),
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
                let __fo_fake_return: Verdict<Patch> = loop {};
                return __fo_fake_return;
            }
            Verdict::new(
                Patch::Codex,
                "codex",
                vec![
                    CandidateScore::new("codex", codex), CandidateScore::new("claude",
                    claude),
                ],
            )
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
                ::factory_observability::__private::Decision::of(
                    ::core::convert::identity(__fo_ret),
                ),
            )
        },
    )
}
