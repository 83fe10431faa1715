//! The first hour of a new user (issue 17): README examples that load, no
//! panics on a closed pipe, a readable `sandbox --explain`, `exec` output
//! split between stdout and stderr, clear connection errors, and wording.

mod common;

use common::*;
use std::path::PathBuf;

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bodies of every fenced block in `text` whose info string is `lang`.
fn fenced_blocks(text: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match current.as_mut() {
            None if trimmed.starts_with("```") && trimmed[3..].trim() == lang => {
                current = Some(String::new());
            }
            Some(_) if trimmed.starts_with("```") => blocks.push(current.take().unwrap()),
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "unterminated ```{lang} block in README.md");
    blocks
}

#[test]
fn every_toml_block_in_the_readme_loads_with_the_real_config_loader() {
    let blocks = fenced_blocks(&readme(), "toml");
    assert!(!blocks.is_empty(), "README.md has no ```toml block");
    for (i, block) in blocks.iter().enumerate() {
        let env = Env::new();
        let file = env.dir.path().join(format!("readme-{i}.toml"));
        write(&file, block);
        let mut c = env.cmd("http://127.0.0.1:9/v1");
        c.arg("--config").arg(&file).args(["config", "show"]);
        let out = run(c);
        assert_eq!(
            code(&out),
            0,
            "README.md ```toml block {i} does not load:\n{block}\nstderr: {}",
            stderr(&out)
        );
    }
}
