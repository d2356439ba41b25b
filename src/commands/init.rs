//! `iotstack init [DIR]`: writes the built-in default stack and its policies out, for a user
//! who wants to change them; never overwrites a file.

use std::path::Path;

use crate::cli::Global;
use crate::error::Result;
use crate::stack::source::{self, DEFAULT_STACK};

pub fn run(g: &Global, dir: &Path) -> Result<i32> {
    let written = source::write_built_in(dir)?;
    for p in &written {
        println!("wrote {}", p.display());
    }
    let stack = written.iter().find(|p| p.ends_with(DEFAULT_STACK));
    if let (Some(stack), false) = (stack, g.quiet) {
        println!(
            "check it with `iotstack validate --stack {}`, then give plan, apply and the other commands the same --stack",
            stack.display()
        );
    }
    Ok(0)
}
