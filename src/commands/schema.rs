//! `iotstack schema`: the JSON Schema of the stack file, for editors.

use crate::stack::schema;

pub fn run() -> i32 {
    print!("{}", schema::json_schema_text());
    0
}
