//! Policy documents compared by meaning: the same statements in any order, a single string the
//! same as a one-element list, keys in any order, `true` the same as `"true"` in conditions.

use serde_json::Value;

/// The canonical form of a policy document. Two documents mean the same when their canonical
/// forms are equal. The result is itself a valid policy document.
pub fn normalize(doc: &Value) -> Value {
    sorted_object(doc, |k, v| match k {
        "Statement" => sorted_set(v, statement),
        _ => v.clone(),
    })
}

fn statement(s: &Value) -> Value {
    sorted_object(s, |k, v| match k {
        "Action" | "NotAction" | "Resource" | "NotResource" => string_set(v),
        "Principal" | "NotPrincipal" => map_values(v, string_set),
        "Condition" => map_values(v, |keys| map_values(keys, string_set)),
        _ => v.clone(),
    })
}

/// The object `v` with its keys sorted and each value as `f` makes it from the key and the
/// value; `v` as it is when it is not an object.
fn sorted_object(v: &Value, f: impl Fn(&str, &Value) -> Value) -> Value {
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    Value::Object(
        keys.into_iter()
            .map(|k| (k.clone(), f(k, &obj[k])))
            .collect(),
    )
}

/// The object `v` with each value as `f` makes it, keys in their order; `v` as it is when it
/// is not an object.
fn map_values(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), f(v))).collect()),
        other => other.clone(),
    }
}

/// The list `v` (a single value: a list of it), each item as `f` makes it, sorted by its JSON
/// text and without repeats.
fn sorted_set(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    let mut items: Vec<Value> = match v {
        Value::Array(a) => a.iter().map(&f).collect(),
        other => vec![f(other)],
    };
    items.sort_by_cached_key(|s| s.to_string());
    items.dedup();
    Value::Array(items)
}

fn string_set(v: &Value) -> Value {
    sorted_set(v, scalar_string)
}

fn scalar_string(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
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
