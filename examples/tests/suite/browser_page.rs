//! The product's page in a real browser: headless chromium (driven through chromedriver) loads
//! `GET /` from a running `product_service`, clicks "Create task", and the real collector
//! receives one trace from the click to the handler. And the page's script, built from npm
//! packages by `scripts/build-web.sh`, is checked to be built from the committed inputs.

use std::path::Path;

/// The page's directory, from this crate's (`examples/`).
fn web_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/product_service/web"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What `sha256sum PATH...` prints for `paths` (relative to the repository), hashed again: the
/// inputs' digest that `scripts/build-web.sh` writes into the bundle's first line.
fn inputs_sha256(repository: &Path, paths: &[&str]) -> String {
    let mut listing = String::new();
    for path in paths {
        let content = std::fs::read(repository.join(path))
            .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let digest = ring::digest::digest(&ring::digest::SHA256, &content);
        listing.push_str(&format!("{}  {path}\n", hex(digest.as_ref())));
    }
    hex(ring::digest::digest(&ring::digest::SHA256, listing.as_bytes()).as_ref())
}

/// The committed `dist/app.js` says it was built from exactly the committed `package.json`,
/// `package-lock.json`, `src/main.js` and build script: changing any of them without running
/// `scripts/build-web.sh` fails here (no registry is reached at test time; `scripts/build-web.sh
/// --check` rebuilds and compares byte for byte where npm can install).
#[test]
fn the_page_script_is_built_from_the_committed_inputs() {
    let web = web_dir();
    let repository = web.join("../../..");
    let bundle = std::fs::read_to_string(web.join("dist/app.js")).expect("dist/app.js");
    let first_line = bundle.lines().next().unwrap_or_default();
    let recorded = first_line
        .split("from inputs sha256:")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .unwrap_or_else(|| panic!("no inputs digest in the bundle's first line: {first_line}"));
    let inputs = [
        "examples/product_service/web/package.json",
        "examples/product_service/web/package-lock.json",
        "examples/product_service/web/src/main.js",
        "scripts/build-web.sh",
    ];
    let build_script = std::fs::read_to_string(repository.join("scripts/build-web.sh")).unwrap();
    for input in &inputs {
        let relative = input.replace("examples/product_service/web", "$web");
        assert!(
            build_script.contains(&format!("\"{relative}\"")) || build_script.contains(input),
            "scripts/build-web.sh no longer hashes {input}: keep this list and its `inputs` equal"
        );
    }
    assert_eq!(
        recorded,
        inputs_sha256(&repository, &inputs),
        "dist/app.js was built from other inputs than the committed ones: run \
         scripts/build-web.sh and commit examples/product_service/web/dist/app.js"
    );
}

/// The lockfile pins every package the bundle is built from, by exact version and integrity
/// hash, and names no download address (the registry is the installing client's setting).
#[test]
fn the_lockfile_pins_every_package_by_version_and_hash() {
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(web_dir().join("package-lock.json")).unwrap(),
    )
    .unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(web_dir().join("package.json")).unwrap())
            .unwrap();
    for section in ["dependencies", "devDependencies"] {
        for (name, version) in manifest[section].as_object().unwrap() {
            let version = version.as_str().unwrap();
            assert!(
                version.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "package.json {section} {name}: {version:?} is a range; pin an exact version"
            );
            let locked = &lock["packages"][format!("node_modules/{name}")];
            assert_eq!(locked["version"], version, "{name} in package-lock.json");
        }
    }
    let packages = lock["packages"].as_object().unwrap();
    assert!(packages.len() > 10, "{} packages", packages.len());
    for (path, package) in packages {
        if path.is_empty() {
            continue;
        }
        assert!(
            package["integrity"]
                .as_str()
                .is_some_and(|hash| hash.starts_with("sha512-")),
            "{path} has no sha512 integrity hash"
        );
        assert!(
            package.get("resolved").is_none(),
            "{path} names a download address"
        );
    }
}
