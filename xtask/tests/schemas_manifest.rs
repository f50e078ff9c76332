//! The vendored schemas are the ones the manifest names: same types, same bytes.

use serde_json::Value as Json;
use xtask::codegen::workspace_root;
use xtask::vendor::{schema_file_name, sha256_hex, VENDORED_TYPES};

#[test]
fn manifest_matches_the_vendored_files() {
    let schemas = workspace_root().join("schemas");
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(schemas.join("MANIFEST.json")).unwrap())
            .unwrap();
    let types = manifest["types"].as_array().unwrap();
    let listed: Vec<&str> = types.iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(listed, VENDORED_TYPES);
    for t in types {
        let name = t["type"].as_str().unwrap();
        let file = t["file"].as_str().unwrap();
        assert_eq!(file, format!("registry/{}", schema_file_name(name)));
        let bytes = std::fs::read(schemas.join(file)).unwrap();
        assert_eq!(
            t["sha256"].as_str().unwrap(),
            sha256_hex(&bytes),
            "{file} differs from the vendored copy: fixes go in xtask/src/patches.rs"
        );
    }
    let on_disk = std::fs::read_dir(schemas.join("registry")).unwrap().count();
    assert_eq!(on_disk, types.len(), "a schema file is not in the manifest");
}
