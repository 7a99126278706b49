#!/usr/bin/env bash
# Builds the API reference of the five libraries (OnnxKeras.Training, .Export, .Inference, .Plotting, .Data.Images) from their XML
# documentation comments with DocFX (the version pinned in dotnet-tools.json), treating every DocFX warning as an error.
# The site goes to docs/reference/_site/ (open index.html), the generated metadata to docs/reference/api/; both are
# untracked. Extra arguments go to docfx, e.g. `build/api-reference.sh --serve` to browse it on localhost:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet tool restore > /dev/null
dotnet docfx docs/reference/docfx.json --warningsAsErrors "$@"
