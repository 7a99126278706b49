#!/usr/bin/env bash
# The package check (run by .ci/run after the tests): packs the libraries and the tool into a temporary folder feed and
# uses them as a user would, outside the checkout:
#   1. every package's metadata (description, license, readme, tags, symbols; Inference carries no TorchSharp and no
#      native ONNX Runtime, Training no libtorch);
#   2. a fresh `dotnet new console` project with no RuntimeIdentifier adds OnnxKeras.Cpu.Linux, trains a tiny model on
#      the bundled MNIST subset, exports it with Verify = true, predicts through OnnxKeras.Inference and checks the
#      compiled training step (jitCompile: true) against the eager one (Consumer.cs);
#   3. a project with the libraries but no native runtimes gets exceptions that name the packages to add (NoRuntime.cs);
#   4. `dotnet tool install onnxkeras` from the feed, then `onnxkeras inspect` and `onnxkeras predict` on the export;
#   5. a self-contained linux-x64 publish of the CLI serves the export with no .NET on its environment's PATH, checked
#      with curl over the Open Inference Protocol.
# Restores use the machine's NuGet cache as a read-only fallback folder (nothing is downloaded that the README's commands
# did not already fetch); the packages of this run go to a temporary packages folder, under a version unique to the run.
# Prints "package check: N passed, N failed" last; exits non-zero on any failure. KEEP=1 keeps the work folder.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/Packaging"
work="$(mktemp -d /tmp/onnxkeras-packages.XXXXXX)"
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf "$work"' EXIT
version="0.1.0-ci.$(date -u +%Y%m%d%H%M%S)"
feed="$work/feed"
passed=0 failed=0
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
# run NAME COMMAND...: runs a step with its output in $work/NAME.log, shown only when it fails.
run() {
  local name="$1"; shift
  if "$@" >"$work/$name.log" 2>&1; then return 0; fi
  echo "---- $name failed; its output:"; tail -n 60 "$work/$name.log"; echo "----"
  return 1
}
finish() { echo "package check: $passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit $?; }

echo "package check: version $version in $work"

# ---------------------------------------------------------------- 1. pack and metadata
# The tool is packed for linux-x64 only here: packing every platform's tool package needs every platform's .NET runtime
# packs (about 960 MB to download on a fresh machine); this machine installs and runs only the linux-x64 one.
for project in Training Inference Export Plotting Data.Images Cpu.Linux Cli; do
  rids=(); [[ $project == Cli ]] && rids=(-p:ToolPackageRuntimeIdentifiers=linux-x64)
  if run "pack-$project" dotnet pack "$root/src/$project" -c Release -o "$feed" -p:Version="$version" "${rids[@]}"; then ok "pack src/$project"
  else bad "pack src/$project"; finish; fi
done

nuspec() { unzip -p "$feed/$1.$version.nupkg" '*.nuspec'; }
for id in OnnxKeras.Training OnnxKeras.Export OnnxKeras.Inference OnnxKeras.Plotting OnnxKeras.Data.Images OnnxKeras.Cpu.Linux onnxkeras; do
  spec="$(nuspec "$id" 2>/dev/null)" || { bad "$id: no package"; continue; }
  missing=""
  grep -q '<description>' <<<"$spec" && ! grep -q '<description>Package Description</description>' <<<"$spec" || missing+=" description"
  grep -q '<license type="expression">MIT</license>' <<<"$spec" || missing+=" license"
  grep -q '<readme>README.md</readme>' <<<"$spec" && unzip -l "$feed/$id.$version.nupkg" README.md >/dev/null || missing+=" readme"
  grep -q '<tags>.*keras.*</tags>' <<<"$spec" || missing+=" tags"
  if [[ $id != OnnxKeras.Cpu.Linux && ! -f "$feed/$id.$version.snupkg" ]]; then missing+=" symbols"; fi
  if [[ -z $missing ]]; then ok "$id metadata"; else bad "$id metadata lacks:$missing"; fi
done
deps() { nuspec "$1" | grep -o '<dependency id="[^"]*"' | cut -d'"' -f2; }
if deps OnnxKeras.Inference | grep -qxE 'TorchSharp.*|libtorch.*|Microsoft\.ML\.OnnxRuntime(\.Gpu.*)?'; then
  bad "OnnxKeras.Inference depends on TorchSharp or a native ONNX Runtime: $(deps OnnxKeras.Inference | tr '\n' ' ')"
else ok "OnnxKeras.Inference depends on: $(deps OnnxKeras.Inference | tr '\n' ' ')"; fi
if deps OnnxKeras.Training | grep -qx 'libtorch.*\|SkiaSharp.*'; then bad "OnnxKeras.Training depends on a libtorch runtime or SkiaSharp"
else ok "OnnxKeras.Training depends on: $(deps OnnxKeras.Training | tr '\n' ' ')"; fi
if unzip -l "$feed/OnnxKeras.Training.$version.nupkg" buildTransitive/OnnxKeras.Training.targets >/dev/null; then ok "OnnxKeras.Training ships the libstdc++ fix (buildTransitive)"
else bad "OnnxKeras.Training lacks buildTransitive/OnnxKeras.Training.targets"; fi

# ---------------------------------------------------------------- restore settings for the projects below
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')"
cat >"$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources><add key="onnxkeras-check" value="$feed" /></packageSources>
  <fallbackPackageFolders><add key="machine-cache" value="$cache" /></fallbackPackageFolders>
</configuration>
XML

new_console() { # new_console NAME SOURCE PACKAGE...
  local name="$1" source="$2"; shift 2
  run "$name-new" dotnet new console -o "$work/$name" --framework net10.0 || return 1
  for package in "$@"; do run "$name-add-$package" dotnet add "$work/$name" package "$package" --version "$version" || return 1; done
  cp "$here/$source" "$work/$name/Program.cs"
  run "$name-build" dotnet build "$work/$name" -c Release
}

# ---------------------------------------------------------------- 2. consumer: train, export, predict
if new_console consumer Consumer.cs OnnxKeras.Cpu.Linux; then
  out="$work/consumer/bin/Release/net10.0"
  ok "consumer builds from packages (no RuntimeIdentifier; output $(du -sm "$out" | cut -f1) MB)"
  if run consumer-run dotnet "$out/consumer.dll" "$work"; then
    grep '^consumer:' "$work/consumer-run.log"; ok "consumer trains, exports with Verify and predicts through OnnxKeras.Inference"
  else bad "consumer run"; fi
else bad "consumer project"; fi

# ---------------------------------------------------------------- 3. no native runtime: errors name the package
if new_console noruntime NoRuntime.cs OnnxKeras.Training OnnxKeras.Inference; then
  if [[ -f "$work/tiny.onnx" ]] && run noruntime-run dotnet "$work/noruntime/bin/Release/net10.0/noruntime.dll" "$work/tiny.onnx"; then
    grep '^noruntime:' "$work/noruntime-run.log"; ok "without runtimes the exceptions name the packages to add"
  else bad "noruntime run"; fi
else bad "noruntime project"; fi

# ---------------------------------------------------------------- 4. the dotnet tool
if (cd "$work" && run tool-install dotnet tool install onnxkeras --version "$version" --add-source "$feed" --tool-path "$work/tools"); then
  ok "dotnet tool install onnxkeras"
  if run tool-inspect "$work/tools/onnxkeras" inspect "$work/tiny.onnx" && grep -q '^  pixels: float32 \[batch, 784\]' "$work/tool-inspect.log" && grep -q '^  Gemm 2' "$work/tool-inspect.log"; then
    ok "onnxkeras inspect"; else bad "onnxkeras inspect"; fi
  if run tool-predict "$work/tools/onnxkeras" predict "$work/tiny.onnx" --input "$work/samples.csv" --format json --output "$work/predicted.json"; then
    got="$(jq -r '[.. | arrays | select(length == 10 and (.[0] | type) == "number")] | map(index(max)) | join(" ")' "$work/predicted.json" 2>/dev/null)"
    want="$(cat "$work/expected_classes.txt" 2>/dev/null)"
    if [[ -n $want && $got == "$want" ]]; then ok "onnxkeras predict gives the trained model's classes ($got)"
    else bad "onnxkeras predict classes '$got', expected '$want'"; fi
  else bad "onnxkeras predict"; fi
else bad "dotnet tool install onnxkeras"; fi

# ---------------------------------------------------------------- 5. self-contained server
if run server-publish dotnet publish "$root/src/Cli" -c Release -r linux-x64 --self-contained -o "$work/server"; then
  ok "self-contained publish of the server ($(du -sm "$work/server" | cut -f1) MB)"
  port=$((20000 + RANDOM % 20000))
  env -i HOME="$work" "$work/server/onnxkeras" serve "$work/tiny.onnx" --port "$port" --name tiny >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break; sleep 0.5; done
  body="$(jq -c '{id: "ci", inputs: [{name: "pixels", shape: [1, 784], datatype: "FP32", data: .}]}' <(head -n 1 "$work/samples.csv" | tr ',' '\n' | jq -s . 2>/dev/null) 2>/dev/null)"
  reply="$(curl -s -m 10 -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v2/models/tiny/infer")"
  got="$(jq -r '.outputs[0].data | index(max)' <<<"$reply" 2>/dev/null)"
  want="$(cut -d' ' -f1 "$work/expected_classes.txt" 2>/dev/null)"
  if [[ -n $want && $got == "$want" ]]; then ok "self-contained server (env -i, no PATH) answers /v2/models/tiny/infer with class $got"
  else bad "self-contained server reply: ${reply:0:300} (expected class $want)"; cat "$work/server.log"; fi
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
else bad "self-contained publish"; fi

finish
