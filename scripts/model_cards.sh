#!/usr/bin/env bash
# Regenerates the held-out table of shipped model cards and compares it with the card.
#
# A card (models/<name>/README.md) holds its held-out table between two markers; the opening one
# says how the test phantoms are made and which labels are scored lesion-wise:
#   <!-- model_cards: --kind ct-abdomen --count 3 --seed 9000; lesions liver_tumor -->
#   | label | Dice mean | Dice per case | lesions found / reference | found >= 0.5 ml | false-positive lesions |
#   ...
#   <!-- /model_cards -->
# For each model this makes those phantoms (`voxseg phantom`), segments them (`voxseg predict`, the
# card's pipeline with its default mirroring), scores them (`voxseg eval --lesions`), prints the
# card's table and the regenerated one in the same format (paste it into the card to update it),
# and fails if a label's mean Dice differs by more than the tolerance or a lesion count differs.
#
# Usage: scripts/model_cards.sh [--tolerance D] [--lesion-tolerance N] [--keep DIR] MODEL_DIR...
#   --tolerance D         largest accepted |mean Dice difference| per label (default 0.02: predict's
#                         results change in the last bits with the thread count, never by 0.02)
#   --lesion-tolerance N  largest accepted difference of each lesion count (default 0)
#   --keep DIR            keep phantoms, predictions and eval outputs in DIR/<model>/
# Programs come from ${VOXSEG_BIN:-build/bin}; threads ${VOXSEG_THREADS:-2}.
# Exit: 0 every card matches, 1 a card differs, 2 usage or a card without markers, 3 a step failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${VOXSEG_BIN:-$root/build/bin}
threads=${VOXSEG_THREADS:-2}
tol=0.02 lesion_tol=0 keep=""
models=()
while [ $# -gt 0 ]; do
  case $1 in
    --tolerance) tol=$2; shift 2 ;;
    --lesion-tolerance) lesion_tol=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "model_cards: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[ ${#models[@]} -gt 0 ] || { echo "model_cards: give one or more model folders (e.g. models/ct-abdomen-small)" >&2; exit 2; }
for p in phantom predict eval; do
  [ -x "$bin/voxseg-$p" ] || { echo "model_cards: no $bin/voxseg-$p; build first or set VOXSEG_BIN" >&2; exit 2; }
done

# card_table CARD: the lines of the card's table (header and separator included).
card_table() { sed -n '/<!-- model_cards:/,/<!-- \/model_cards -->/p' "$1" | sed '1d;$d'; }

# regenerate MODEL WORK SPEC LESIONS: prints the regenerated table.
regenerate() {
  local model=$1 work=$2 spec=$3 lesions=$4
  # shellcheck disable=SC2086  # the spec is a list of phantom options
  "$bin/voxseg-phantom" $spec -o "$work/test" --force -q >/dev/null || return 3
  local images=$work/test/imagesTr refs=$work/test/labelsTr
  [ -d "$images" ] || { images=$work/test/image.nii.gz; refs=$work/test/labels.nii.gz; }
  "$bin/voxseg-predict" -m "$model" "$images" -o "$work/pred" --batch-size 8 --threads "$threads" --force -q \
    >/dev/null || return 3
  local pred=$work/pred
  [ -d "$work/test/imagesTr" ] || pred=$(ls "$work"/pred/*.nii.gz)
  local lesion_args=()
  [ -n "$lesions" ] && lesion_args=(--lesions "$lesions" --lesion-csv "$work/lesions.csv")
  "$bin/voxseg-eval" -p "$pred" -r "$refs" --label-table "$model" --no-surface --csv "$work/eval.csv" \
    "${lesion_args[@]}" --threads "$threads" --force -q >/dev/null || return 3
  [ -f "$work/lesions.csv" ] || echo "case,label,side,id,volume_ml,matched" >"$work/lesions.csv"
  # Labels in the model's order (from the card's table when possible, else as eval met them).
  awk -F, -v lesions=",$lesions," '
    FNR == 1 { file++; next }
    file == 1 {  # eval.csv: case,label,values,flag,dice,...
      if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
      cases[$1] = 1
      dice[$2, $1] = $5
      next
    }
    {  # lesions.csv: case,label,side,id,volume_ml,matched,...
      if ($3 == "ref") { ref[$2]++; if ($6 == 1) found[$2]++; if ($5 >= 0.5) { big[$2]++; if ($6 == 1) bigfound[$2]++ } }
      else if ($6 == 0) fp[$2]++
    }
    END {
      nc = 0; for (c in cases) names[++nc] = c
      for (i = 1; i <= nc; i++) for (j = i + 1; j <= nc; j++) if (names[j] < names[i]) { t = names[i]; names[i] = names[j]; names[j] = t }
      print "| label | Dice mean | Dice per case | lesions found / reference | found >= 0.5 ml | false-positive lesions |"
      print "|---|---|---|---|---|---|"
      for (k = 1; k <= n; k++) {
        l = order[k]; s = 0; m = 0; per = ""
        for (i = 1; i <= nc; i++) {
          v = dice[l, names[i]]
          per = per (i > 1 ? " / " : "") (v == "" ? "-" : sprintf("%.3f", v))
          if (v != "") { s += v; m++ }
        }
        mean = m ? sprintf("%.3f", s / m) : "-"
        if (index(lesions, "," l ",")) {
          lf = sprintf("%d/%d", found[l], ref[l]); lb = sprintf("%d/%d", bigfound[l], big[l]); lp = sprintf("%d", fp[l])
        } else { lf = "-"; lb = "-"; lp = "-" }
        printf "| %s | %s | %s | %s | %s | %s |\n", l, mean, per, lf, lb, lp
      }
    }' "$work/eval.csv" "$work/lesions.csv"
}

# compare CARD_TABLE NEW_TABLE: 0 when every label's mean Dice and lesion counts agree.
compare() {
  awk -F'|' -v tol="$tol" -v ltol="$lesion_tol" '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    function count(s, part,   a) { if (s == "-" || s == "") return ""; split(s, a, "/"); return a[part] + 0 }
    FNR <= 2 { next }
    NR == FNR { card[trim($2)] = $0; next }
    {
      l = trim($2)
      if (!(l in card)) { printf "  %s: not in the card\n", l; bad = 1; next }
      split(card[l], c, "|")
      a = trim(c[3]); b = trim($3)
      if ((a == "-") != (b == "-") || (a != "-" && (a - b > tol || b - a > tol))) {
        printf "  %s: Dice mean %s in the card, %s now (tolerance %s)\n", l, a, b, tol; bad = 1
      }
      for (col = 5; col <= 7; col++) for (part = 1; part <= 2; part++) {
        x = count(trim(c[col]), part); y = count(trim($col), part)
        if (col == 7 && part == 2) continue
        if (x == "" && y == "") continue
        if (x == "" || y == "" || x - y > ltol || y - x > ltol) {
          printf "  %s: %s is %s in the card, %s now\n", l, (col == 5 ? "lesions found/reference" : col == 6 ? "found >= 0.5 ml" : "false-positive lesions"), trim(c[col]), trim($col); bad = 1; break
        }
      }
      delete card[l]
    }
    END { for (l in card) { printf "  %s: in the card, not scored now\n", l; bad = 1 } exit bad }' "$1" "$2"
}

status=0
for model in "${models[@]}"; do
  model=${model%/}
  card=$model/README.md
  [ -f "$card" ] || { echo "model_cards: no $card" >&2; status=2; continue; }
  marker=$(grep -m1 -o '<!-- model_cards:[^>]*-->' "$card" || true)
  [ -n "$marker" ] || { echo "model_cards: $card has no '<!-- model_cards: ... -->' held-out table" >&2; status=2; continue; }
  body=${marker#<!-- model_cards:}
  body=${body%-->}
  spec=${body%%;*}
  lesions=""
  case $body in *";"*lesions*) lesions=$(echo "${body#*;}" | sed 's/^ *lesions *//; s/ *$//') ;; esac
  name=$(basename "$model")
  if [ -n "$keep" ]; then work=$keep/$name; mkdir -p "$work"; else work=$(mktemp -d "${TMPDIR:-/tmp}/voxseg-cards.XXXXXX"); fi
  echo "== $name: voxseg phantom$spec; lesions: ${lesions:-none}" >&2
  card_table "$card" >"$work/card.md"
  if ! regenerate "$model" "$work" "$spec" "$lesions" >"$work/now.md"; then
    echo "model_cards: $name: a step failed (outputs in $work)" >&2
    status=3; continue
  fi
  echo "card ($card):"; cat "$work/card.md"
  echo "now:"; cat "$work/now.md"
  if compare "$work/card.md" "$work/now.md"; then
    echo "$name: the card matches"
  else
    echo "$name: the card differs (above); if the model or the phantoms changed on purpose, paste the 'now' table into $card"
    [ $status = 0 ] && status=1
  fi
  [ -n "$keep" ] || rm -rf "$work"
done
exit $status
