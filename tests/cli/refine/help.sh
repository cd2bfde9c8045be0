# --help exits 0 and documents every refine option; missing required options are usage errors (2).
source "$(dirname "$0")/../lib.sh"
expect_exit 0 voxseg refine --help
for flag in --sam --preset --input --output --box --point --labels --prompts --axis --margin --mode --propagate \
            --window --multimask --logits --cache --batch-size --device --precision --threads --force --json Examples; do
  expect_stdout "$flag"
done
expect_exit 2 voxseg refine -i in.png -o out.png
expect_exit 2 voxseg refine --sam m.pth -i in.png -o out.png --box 1,2,3,4 --preset foo
