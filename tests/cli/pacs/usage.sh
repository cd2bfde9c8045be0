# voxseg pacs without a network: help lists every subcommand and flag; bad peers, AE titles and queries
# are usage errors (2) before any connection; a folder that is not a spool is bad input (3); a listener
# without an allow-list or model refuses to start.
source "$(dirname "$0")/../lib.sh"
expect_exit 0 voxseg pacs --help
for c in echo store find get move listen status; do expect_stdout "$c"; done
expect_exit 0 voxseg pacs listen --help
for f in --port --spool --allow --model --nnunet --send-to --quiet-seconds --workers --precision --disable-tta \
         --predict-arg --tls --cert --key --ca --timeout --max-pdu --aet; do expect_stdout "$f"; done
expect_exit 2 voxseg pacs
expect_exit 2 voxseg pacs echo ORTHANC-127.0.0.1:4242
expect_one_line_error
expect_exit 2 voxseg pacs echo ORTHANC@127.0.0.1:99999
expect_exit 2 voxseg pacs echo --aet THIS_AE_TITLE_IS_TOO_LONG ORTHANC@127.0.0.1:4242
expect_exit 2 voxseg pacs find ORTHANC@127.0.0.1:4242 --date 2024
expect_exit 2 voxseg pacs get ORTHANC@127.0.0.1:4242 --study-uid 1.2 --series-uid 1.3 -o "$WORK/x"
expect_exit 2 voxseg pacs get ORTHANC@127.0.0.1:4242 --study-uid ../etc -o "$WORK/x"
expect_exit 2 voxseg pacs echo ORTHANC@127.0.0.1:4242 --tls
expect_exit 3 voxseg pacs store ORTHANC@127.0.0.1:4242 "$WORK/missing"
expect_exit 3 voxseg pacs status "$WORK"
expect_one_line_error
expect_exit 2 voxseg pacs listen --port 11112 --spool "$WORK/s" --allow "" -m "$VOXSEG_SOURCE/models/ct-abdomen-small" \
  --send-to PACS@127.0.0.1:4242
expect_exit 4 voxseg pacs listen --port 11112 --spool "$WORK/s" --allow CT -m "$WORK/no-model" --send-to PACS@127.0.0.1:4242
expect_exit 2 voxseg pacs listen --port 11112 --spool "$WORK/s" --allow CT --send-to PACS@127.0.0.1:4242
