//! The core's modules stay in the layers core/ARCHITECTURE.md draws: each module uses only the
//! layers below it and, within its own layer, only modules listed before it; a feature uses
//! another feature only through a dependency named below. Read from the sources' `crate::`
//! paths (tests and comments left out), so a new `use` that climbs a layer or closes a cycle
//! fails here, with the edge named.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Lowest first. Within a layer, a module may use those listed before it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "bottom (text, rules and types; nothing about storage)",
        &[
            "text", "access", "error", "body", "domain", "labels", "index", "import",
        ],
    ),
    ("vault (envelopes and keys)", &["crypto", "keys"]),
    (
        "file (schema, session, the trail's storage, sealed rows, key slots)",
        &[
            "schema", "session", "audit", "ledger", "db", "slots", "snapshot",
        ],
    ),
    (
        "features",
        &[
            "clubs",
            "consent",
            "livelihood",
            "meetings",
            "members",
            "referrals",
            "trail",
            "report",
            "safety",
            "sync",
        ],
    ),
    ("facade", &["store"]),
];

/// The only uses of one feature by another, each one way, with the reason.
const FEATURE_USES: &[(&str, &str, &str)] = &[
    (
        "referrals",
        "consent",
        "a referral needs the consent that covers it",
    ),
    ("trail", "clubs", "findings name a club's overdue meetings"),
    ("trail", "meetings", "findings read meetings' follow-ups"),
    ("report", "clubs", "a report is one club's"),
    ("report", "meetings", "it counts the month's meetings"),
    ("report", "referrals", "it counts the month's referrals"),
    ("safety", "clubs", "the duress decoy shows the clubs"),
    (
        "safety",
        "trail",
        "the decoy's trail is the real one without members",
    ),
    ("sync", "clubs", "a referral names its club's province"),
    ("sync", "consent", "nothing leaves without covering consent"),
    (
        "sync",
        "members",
        "the fields a referral shares are the member's",
    ),
    (
        "sync",
        "referrals",
        "the outbox sends referrals and records their answers",
    ),
    (
        "sync",
        "trail",
        "checkpoints and the device key go to the province",
    ),
];

/// Modules outside the layers: the crate root, and test support built only for fuzzing.
const OUTSIDE: &[&str] = &["lib", "fuzzing"];

/// The vault handles bytes and keys only: no domain types, no storage.
const VAULT_MAY_USE: &[&str] = &["error", "text"];

/// The `crate::` modules one source file uses, outside its tests and comments.
fn uses_in(source: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end]
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                vec![&rest[..end]]
            };
            for name in names {
                if known.contains(name) {
                    out.insert(name.to_owned());
                }
            }
        }
    }
    // `use crate::{a, b}` spread over several lines.
    let mut rest = code;
    while let Some(at) = rest.find("crate::{") {
        rest = &rest[at + "crate::{".len()..];
        let end = rest.find('}').unwrap_or(rest.len());
        for item in rest[..end].split(',') {
            let name = item.trim().split("::").next().unwrap_or("");
            if known.contains(name) {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

/// Each module of core/src (a file, or a folder with its submodules) and what it uses.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("core/src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            for sub in std::fs::read_dir(&path).expect("module folder") {
                let sub = sub.expect("entry").path();
                if sub.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&sub).expect("source");
                    files.entry(name.clone()).or_default().push(text);
                }
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("source");
            files.entry(name).or_default().push(text);
        }
    }
    let known: BTreeSet<String> = files.keys().cloned().collect();
    files
        .into_iter()
        .map(|(name, texts)| {
            let mut used = BTreeSet::new();
            for text in &texts {
                used.extend(uses_in(text, &known));
            }
            used.remove(&name);
            (name, used)
        })
        .collect()
}

/// Every way the graph leaves the layers, as sentences; empty when it keeps to them.
fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut place: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (layer, (_, modules)) in LAYERS.iter().enumerate() {
        for (at, module) in modules.iter().enumerate() {
            place.insert(module, (layer, at));
        }
    }
    let features = LAYERS
        .iter()
        .position(|(name, _)| *name == "features")
        .expect("a features layer");
    let vault = LAYERS
        .iter()
        .position(|(name, _)| name.starts_with("vault"))
        .expect("a vault layer");
    let mut out = Vec::new();
    for module in place.keys() {
        if !graph.contains_key(*module) {
            out.push(format!("{module} is in LAYERS but not in core/src"));
        }
    }
    for (module, used) in graph {
        if OUTSIDE.contains(&module.as_str()) {
            continue;
        }
        let Some(&(layer, at)) = place.get(module.as_str()) else {
            out.push(format!(
                "{module} is in no layer: add it to LAYERS in core/tests/layers.rs and ARCHITECTURE.md"
            ));
            continue;
        };
        for other in used {
            if OUTSIDE.contains(&other.as_str()) {
                out.push(format!(
                    "{module} uses {other}, which is outside the layers"
                ));
                continue;
            }
            let Some(&(other_layer, other_at)) = place.get(other.as_str()) else {
                continue;
            };
            let named = FEATURE_USES
                .iter()
                .any(|(from, to, _)| from == module && to == other);
            let fine = if layer == vault {
                VAULT_MAY_USE.contains(&other.as_str()) || (other_layer == vault && other_at < at)
            } else if other_layer < layer {
                true
            } else if other_layer > layer {
                false
            } else if layer == features {
                named
            } else {
                other_at < at
            };
            if !fine {
                out.push(format!(
                    "{module} ({}) uses {other} ({}): a module may use only the layers below it \
                     and, in its own, those listed before it (features: only FEATURE_USES)",
                    LAYERS[layer].0, LAYERS[other_layer].0
                ));
            }
        }
    }
    for cycle in cycles(graph) {
        out.push(format!("import cycle among: {}", cycle.join(", ")));
    }
    out
}

/// The strongly connected components of more than one module (Tarjan), each a cycle.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        if let Some(next) = w.graph.get(v) {
            for u in next {
                let u = u.as_str();
                if !w.graph.contains_key(u) {
                    continue;
                }
                if !w.index.contains_key(u) {
                    visit(w, u);
                    let low = w.low[v].min(w.low[u]);
                    w.low.insert(v, low);
                } else if w.stack.contains(&u) {
                    let low = w.low[v].min(w.index[u]);
                    w.low.insert(v, low);
                }
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(u) = w.stack.pop() {
                component.push(u.to_owned());
                if u == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.reverse();
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            visit(&mut walk, v);
        }
    }
    walk.found
}

#[test]
fn the_core_keeps_to_its_layers_and_has_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 20, "core/src read: {:?}", graph.keys());
    let found = violations(&graph);
    assert!(
        found.is_empty(),
        "core/ARCHITECTURE.md:\n{}",
        found.join("\n")
    );
}

/// The check itself: a use that climbs a layer, a feature using another without a name, a
/// cycle and a module in no layer are each caught; paths in comments and tests are not uses.
#[test]
fn the_check_catches_a_climb_a_cycle_and_an_unplaced_module() {
    let known: BTreeSet<String> = ["store", "db", "ledger", "clubs", "members", "text"]
        .map(String::from)
        .into();
    let source = "use crate::db::{self, Db};\nuse crate::{clubs,\n    text};\n\
                  // crate::store is only named here\nfn f() { crate::ledger::append(); }\n\
                  #[cfg(test)]\nmod tests {\n    use crate::store::Store;\n}\n";
    let used = uses_in(source, &known);
    assert_eq!(
        used,
        ["clubs", "db", "ledger", "text"].map(String::from).into()
    );

    let clean = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let with = |from: &str, to: &str| {
        let mut g = clean.clone();
        g.get_mut(from).expect("module").insert(to.to_owned());
        violations(&g)
    };
    // The bottom reaching for the store, the error type for the session.
    assert!(with("text", "store").iter().any(|v| v.contains("text")));
    assert!(with("error", "session").iter().any(|v| v.contains("error")));
    // The vault using domain types.
    assert!(
        with("crypto", "domain")
            .iter()
            .any(|v| v.contains("crypto"))
    );
    // A feature using another without a named dependency, and the reverse of a named one.
    assert!(with("clubs", "members").iter().any(|v| v.contains("clubs")));
    assert!(
        with("consent", "referrals")
            .iter()
            .any(|v| v.contains("cycle"))
    );
    // A module nobody placed.
    let mut g = clean.clone();
    g.insert("newthing".into(), BTreeSet::new());
    assert!(violations(&g).iter().any(|v| v.contains("newthing")));
}
