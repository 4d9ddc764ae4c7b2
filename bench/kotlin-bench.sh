#!/usr/bin/env bash
# Item 7 of docs/PERFORMANCE.md, the Kotlin side: times ClubStore.memberList through the
# uniffi-generated Kotlin and JNA against the RELEASE libchungtay_ffi.so.
#
# No Maven run and no pom change: the bench (bindings/kotlin/src/bench/kotlin) and the generated
# bindings are compiled with the Kotlin compiler that Maven already fetched for
# kotlin-maven-plugin (org.jetbrains.kotlin:kotlin-compiler-embeddable in ~/.m2, same version as
# the pom's kotlin.version), into target/kotlin-bench/ — never bindings/kotlin/target, which
# belongs to scripts/kotlin-test. Run scripts/kotlin-test (or any Maven build of
# bindings/kotlin) once first so that ~/.m2 holds the compiler, kotlin-stdlib and JNA.
#
# chungtay-bench runs this with BENCH_DIR (holding members.tsv), BENCH_MEMBERS, BENCH_REPS;
# by hand: BENCH_DIR=DIR bash bench/kotlin-bench.sh (DIR/members.tsv from a chungtay-bench run).
set -euo pipefail
cd "$(dirname "$0")/.."

target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
out="$target/kotlin-bench"
m2="${MAVEN_REPO:-$HOME/.m2/repository}"
pom=bindings/kotlin/pom.xml
prop() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$pom" | head -1; }
kv=$(prop kotlin.version)
jv=$(prop jna.version)
jar() { # group/path artifact version
  local f="$m2/$1/$2/$3/$2-$3.jar"
  [[ -f "$f" ]] || { echo "kotlin-bench: missing $f (run scripts/kotlin-test once so Maven fetches it)" >&2; exit 3; }
  printf '%s' "$f"
}
K=org/jetbrains/kotlin
stdlib=$(jar $K kotlin-stdlib "$kv")
jna=$(jar net/java/dev/jna jna "$jv")
compiler_cp=$(jar $K kotlin-compiler-embeddable "$kv"):$stdlib:$(jar $K kotlin-script-runtime "$kv"):$(jar $K kotlin-reflect 1.6.10):$(jar $K kotlin-daemon-embeddable "$kv"):$(jar org/jetbrains/kotlinx kotlinx-coroutines-core-jvm 1.8.0):$(jar org/jetbrains annotations 13.0)

# Debug library: the one with uniffi metadata, to generate the Kotlin from (as scripts/kotlin-test).
# Release library: the one that is timed (same proc-macros, so the same API and checksums).
cargo build -q -p chungtay-ffi
cargo build -q -p chungtay-ffi --release
rm -rf "$out/bindings"
cargo run -q -p uniffi-bindgen -- generate --library "$target/debug/libchungtay_ffi.so" \
  --language kotlin --out-dir "$out/bindings" --no-format >/dev/null

# The bench, and the hand-written Kotlin that ships with the bindings (MemberRows).
src=(bindings/kotlin/src/bench/kotlin bindings/kotlin/src/main/kotlin)
hash=$( (echo "$kv"; find "$out/bindings" "${src[@]}" -name '*.kt' | sort | xargs cat) | sha256sum | cut -c1-16)
if [[ ! -f "$out/classes/.built-$hash" ]]; then
  echo "kotlin-bench: compiling the bindings and the bench with kotlin-compiler-embeddable $kv ..." >&2
  rm -rf "$out/classes"
  java -Xss8m -cp "$compiler_cp" org.jetbrains.kotlin.cli.jvm.K2JVMCompiler \
    -no-stdlib -no-reflect -jvm-target 17 -nowarn \
    -classpath "$stdlib:$jna" -d "$out/classes" "$out/bindings" "${src[@]}"
  touch "$out/classes/.built-$hash"
fi

exec java -Djna.library.path="$target/release" -cp "$out/classes:$stdlib:$jna" \
  org.chungtay.bench.MemberListBenchKt
