# DICOM TLS (dcmtls, BCP 195): a listener with --tls --cert --key --ca accepts our echo and store with a
# client certificate signed by the CA (and DCMTK's echoscu +tls), and refuses plain connections, clients
# without a certificate and servers signed by another CA (exit 7).
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/orthanc_env.sh"
command -v openssl >/dev/null || skip "openssl is not installed"
cd "$WORK"
ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$1.key" -out "$1.pem" 2>/dev/null; }
cert() {  # cert NAME CA
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null &&
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 -out "$1.pem" 2>/dev/null
}
ca ca && ca other_ca && cert server ca && cert client ca && cert rogue other_ca || fail "openssl failed"
start_orthanc
LISTEN_PORT=$(free_port); SPOOL="$WORK/spool"
voxseg-pacs listen --port "$LISTEN_PORT" --spool "$SPOOL" --allow SCU --send-to "$ORTHANC" --quiet-seconds 1 \
  -m "$VOXSEG_SOURCE/models/ct-abdomen-small" --segment-command "$VOXSEG_SOURCE/tests/integration/fake_segment.sh" \
  --tls --cert server.pem --key server.key --ca ca.pem -v > "$WORK/listener.log" 2>&1 &
LPID=$!; PIDS+=("$LPID")
TLS=(--aet SCU --tls --cert client.pem --key client.key --ca ca.pem --timeout 5)
until_true 30 voxseg-pacs echo "VOXSEG@127.0.0.1:$LISTEN_PORT" "${TLS[@]}" -q || { cat "$WORK/listener.log"; fail "TLS echo failed"; }
expect_exit 7 voxseg pacs echo "VOXSEG@127.0.0.1:$LISTEN_PORT" --aet SCU --timeout 5
expect_exit 7 voxseg pacs echo "VOXSEG@127.0.0.1:$LISTEN_PORT" --aet SCU --tls --ca ca.pem --timeout 5
expect_exit 7 voxseg pacs echo "VOXSEG@127.0.0.1:$LISTEN_PORT" --aet SCU --tls --cert rogue.pem --key rogue.key --ca ca.pem --timeout 5
expect_exit 7 voxseg pacs echo "VOXSEG@127.0.0.1:$LISTEN_PORT" --aet SCU --tls --cert client.pem --key client.key --ca other_ca.pem --timeout 5
expect_exit 2 voxseg pacs echo "VOXSEG@127.0.0.1:$LISTEN_PORT" --aet SCU --tls --timeout 5
echoscu +tls client.key client.pem +cf ca.pem -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" || fail "echoscu +tls failed"
make_series "$WORK/s" 3
expect_exit 0 voxseg pacs store "VOXSEG@127.0.0.1:$LISTEN_PORT" "$WORK/s" "${TLS[@]}"
expect_stdout "3 sent"
until_true 30 grep -q "sent the SEG" "$WORK/listener.log" || { cat "$WORK/listener.log"; fail "no SEG sent"; }
