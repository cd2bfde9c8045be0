# One list of commands (lib/voxseg/cli/commands.cpp): `voxseg --help` prints it, each program's --help
# starts with the same summary, README's table and docs/<verb>.md (the "> summary" line under the title)
# carry it word for word, and docs/<verb>.md documents every flag voxseg-<verb> --help lists.
source "$(dirname "$0")/../lib.sh"
readme=$VOXSEG_SOURCE/README.md
expect_exit 0 voxseg --help
sed -n '/^Commands:/,/^$/p' "$WORK/stdout" | grep '^  ' > "$WORK/commands.txt"
[ "$(wc -l < "$WORK/commands.txt")" -ge 6 ] || { cat "$WORK/stdout" >&2; fail "voxseg --help lists too few commands"; }
common="--help --version --quiet --verbose --json --force --threads"  # docs/cli-conventions.md
problems=0
problem() { echo "commands: $*" >&2; problems=$((problems + 1)); }
while read -r verb summary; do
  built=1
  case "$summary" in *" (not installed)") summary=${summary% (not installed)}; built=0 ;; esac
  doc=$VOXSEG_SOURCE/docs/$verb.md
  if [ ! -f "$doc" ] && [ $built = 0 ]; then
    # A verb registered ahead of its program (merged from another branch): checked once it is built.
    echo "note: voxseg-$verb is registered but neither built nor documented yet" >&2
    continue
  fi
  [ -f "$doc" ] || { problem "no docs/$verb.md"; continue; }
  [ "$(sed -n 1p "$doc")" = "# voxseg $verb" ] || problem "docs/$verb.md: first line is not '# voxseg $verb'"
  grep -Fxq "> $summary" "$doc" || problem "docs/$verb.md lacks the summary line '> $summary'"
  grep -Fq "| \`voxseg $verb\` | $summary | [docs/$verb.md](docs/$verb.md) |" "$readme" ||
    problem "README.md's table lacks the row: | \`voxseg $verb\` | $summary | [docs/$verb.md](docs/$verb.md) |"
  [ $built = 1 ] || continue
  "voxseg-$verb" --help > "$WORK/help.txt" 2>&1 || problem "voxseg-$verb --help failed"
  [ "$(head -1 "$WORK/help.txt")" = "$summary" ] || problem "voxseg-$verb --help starts with '$(head -1 "$WORK/help.txt")'"
  for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' "$WORK/help.txt" | sort -u); do
    case " $common " in *" $flag "*) continue ;; esac
    grep -Fq -- "$flag" "$doc" || problem "docs/$verb.md does not document $flag (listed by voxseg-$verb --help)"
  done
done < "$WORK/commands.txt"
# Every documented program is registered (no stale docs/<verb>.md pages for a removed command).
grep -oE '^\| `voxseg [a-z-]+`' "$readme" | sed 's/.*voxseg //; s/`//' | while read -r verb; do
  grep -Eq "^  $verb " "$WORK/commands.txt" || { echo "commands: README lists voxseg $verb, which is not registered" >&2; exit 1; }
done || problems=$((problems + 1))
[ $problems = 0 ] || fail "$problems mismatch(es) between cli::commands(), --help, README.md and docs/"
