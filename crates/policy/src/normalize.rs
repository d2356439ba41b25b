//! Policy documents compared by meaning: the same statements in any order, a single string the
//! same as a one-element list, keys in any order, `true` the same as `"true"` in conditions.

use serde_json::{Map, Value};

/// The canonical form of a policy document. Two documents mean the same when their canonical
/// forms are equal. The result is itself a valid policy document.
pub fn normalize(doc: &Value) -> Value {
    let Some(obj) = doc.as_object() else {
        return doc.clone();
    };
    let mut out = Map::new();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    for k in keys {
        let v = &obj[k];
        if k == "Statement" {
            let mut stmts: Vec<Value> = match v {
                Value::Array(a) => a.iter().map(statement).collect(),
                other => vec![statement(other)],
            };
            stmts.sort_by_cached_key(|s| s.to_string());
            stmts.dedup();
            out.insert(k.clone(), Value::Array(stmts));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn statement(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    for k in keys {
        let v = &obj[k];
        let nv = match k.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(v),
            "Principal" | "NotPrincipal" => match v {
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), string_set(v))).collect())
                }
                other => other.clone(),
            },
            "Condition" => match v {
                Value::Object(ops) => Value::Object(
                    ops.iter()
                        .map(|(op, keys)| {
                            let keys = match keys {
                                Value::Object(m) => Value::Object(
                                    m.iter().map(|(k, v)| (k.clone(), string_set(v))).collect(),
                                ),
                                other => other.clone(),
                            };
                            (op.clone(), keys)
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => v.clone(),
        };
        out.insert(k.clone(), nv);
    }
    Value::Object(out)
}

fn scalar_string(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

fn string_set(v: &Value) -> Value {
    let mut items: Vec<Value> = match v {
        Value::Array(a) => a.iter().map(scalar_string).collect(),
        other => vec![scalar_string(other)],
    };
    items.sort_by_cached_key(|s| s.to_string());
    items.dedup();
    Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_meaning_same_form() {
        let a = json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}});
        let b = json!({"Statement":[{"Resource":["*"],"Action":["iot:Connect"],"Effect":"Allow"}],"Version":"2012-10-17"});
        assert_eq!(normalize(&a), normalize(&b));
    }

    #[test]
    fn statement_order_and_list_order_do_not_matter() {
        let a = json!({"Statement":[{"Effect":"Allow","Action":["b","a"],"Resource":"x"},{"Effect":"Deny","Action":"c","Resource":"y"}]});
        let b = json!({"Statement":[{"Effect":"Deny","Action":"c","Resource":"y"},{"Effect":"Allow","Action":["a","b"],"Resource":"x"}]});
        assert_eq!(normalize(&a), normalize(&b));
    }

    #[test]
    fn conditions_compare_by_value() {
        let a = json!({"Statement":[{"Effect":"Allow","Action":"a","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true}}}]});
        let b = json!({"Statement":[{"Effect":"Allow","Action":"a","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":["true"]}}}]});
        assert_eq!(normalize(&a), normalize(&b));
    }

    #[test]
    fn different_meaning_differs() {
        let a = json!({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"x"}]});
        let b = json!({"Statement":[{"Effect":"Allow","Action":"iot:Receive","Resource":"x"}]});
        assert_ne!(normalize(&a), normalize(&b));
        let c = json!({"Statement":[{"Effect":"Deny","Action":"iot:Publish","Resource":"x"}]});
        assert_ne!(normalize(&a), normalize(&c));
    }
}
