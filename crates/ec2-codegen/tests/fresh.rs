//! The committed generated code must be exactly what the generator writes from the committed model.

#[test]
fn generated_code_is_fresh() {
    let root = ec2_codegen::workspace_root();
    let files = ec2_codegen::render_all(&root).expect("codegen runs");
    assert!(files.len() >= 5);
    for file in files {
        let path = root.join(&file.path);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(on_disk == file.text, "{} is stale: run `cargo run -p ec2-codegen`", file.path.display());
    }
}
