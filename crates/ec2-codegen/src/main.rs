//! `cargo run -p ec2-codegen`: regenerates `crates/ec2-protocol/src/generated/` from `model/ec2/`.

fn main() {
    let root = ec2_codegen::workspace_root();
    let files = match ec2_codegen::render_all(&root) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("ec2-codegen: {e}");
            std::process::exit(1);
        }
    };
    for file in files {
        let path = root.join(&file.path);
        if let Err(e) = std::fs::write(&path, &file.text) {
            eprintln!("ec2-codegen: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("wrote {}", file.path.display());
    }
}
