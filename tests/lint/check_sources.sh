#!/usr/bin/env bash
# Source rules from docs/architecture.md that the compiler does not check:
# module layering, heavy headers in their corners, no stdout/exit in the library, thin apps.
set -u
cd "${VOXSEG_SOURCE:?}"
status=0
bad() { echo "lint: $*"; status=1; }

order=(core io checkpoint phantom preprocess models postprocess infer refine metrics train pacs)
index_of() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && echo "$i" && return; done; echo -1; }

for file in $(git ls-files 'lib/voxseg/*.h' 'lib/voxseg/*.cpp' 2>/dev/null || find lib -name '*.[hc]*'); do
  [ -f "$file" ] || continue
  module=$(echo "$file" | cut -d/ -f3)
  while IFS= read -r dep; do
    [ "$dep" = "$module" ] && continue
    if [ "$module" = cli ]; then
      case "$dep" in core|io) continue ;; esac
      bad "$file includes voxseg/$dep (cli may use core and io only)"; continue
    fi
    [ "$dep" = cli ] && { bad "$file includes voxseg/cli (only apps may)"; continue; }
    mi=$(index_of "$module"); di=$(index_of "$dep")
    if [ "$di" -lt 0 ] || [ "$mi" -lt 0 ] || [ "$di" -gt "$mi" ]; then
      bad "$file includes voxseg/$dep, which is not below $module in the layering (${order[*]})"
    fi
  done < <(grep -oE '#include "voxseg/[a-z_]+/' "$file" | sed 's#.*voxseg/##; s#/##' | sort -u)

  grep -qE '^\s*#include <torch/' "$file" && case "$file" in
    lib/voxseg/models/*.cpp|lib/voxseg/models/detail/*.h|lib/voxseg/infer/*.cpp|lib/voxseg/refine/*.cpp|lib/voxseg/train/*.cpp|lib/voxseg/checkpoint/*.cpp) ;;
    *) bad "$file includes <torch/...> (only .cpp files of models, infer, refine, train, checkpoint and models' private detail headers may)";; esac
  grep -qE '^\s*#include [<"]itk' "$file" && case "$file" in
    lib/voxseg/io/*.cpp|lib/voxseg/io/detail/*.cpp) ;; *) bad "$file includes ITK (only io/*.cpp may)";; esac
  grep -qE '^\s*#include [<"]dcmtk/' "$file" && case "$file" in
    lib/voxseg/io/dicom*|lib/voxseg/io/detail/dicom*|lib/voxseg/pacs/*) ;;
    *) bad "$file includes DCMTK (only io/dicom* and pacs/ may)";; esac
  grep -qE '^\s*#include <CLI/' "$file" && [ "$module" != cli ] && bad "$file includes CLI11 (only cli/ and apps/ may)"
  if grep -nE 'std::cout|[^fn]printf\(|std::exit\(|(^|[^_a-zA-Z.])exit\(' "$file" | grep -vE 'fprintf|snprintf|//' | grep -q .; then
    bad "$file writes to stdout or exits (library code reports through voxseg::log and Error)"
  fi
  case "$file" in *.h) grep -qE '^\s*using namespace' "$file" && bad "$file has 'using namespace' in a header";; esac
done

for app in apps/voxseg-*.cpp; do
  [ -f "$app" ] || continue
  n=$(wc -l < "$app")
  [ "$n" -le 150 ] || bad "$app has $n lines; apps stay thin (parse, call the library, report)"
  grep -qE '#include [<"](itk|dcmtk/|torch/)' "$app" && bad "$app includes ITK, DCMTK or torch directly"
done
[ $status -eq 0 ] && echo "lint: ok"
exit $status
