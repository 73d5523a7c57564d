#!/bin/sh
# csr.sh — make a fresh key and a CSR on the device.
#
# Template device: a directory ($DEVICE_DIR) whose served.pem a TLS server
# presents (ottr's demo and tests run one). On a real platform, replace the
# openssl call with the device's own "generate key and CSR" command, run
# over its API or SSH, and print the CSR it returns.
#
# In:  OTTR_COMMON_NAME, OTTR_SANS (comma-separated), OTTR_KEY_TYPE,
#      OTTR_CSR_FILE; DEVICE_DIR (set in the platform's env).
# Out: the CSR (PEM) in $OTTR_CSR_FILE. Errors on stderr; exit 65 for a
#      request the device cannot make (fails the rotation at once).
set -eu
: "${DEVICE_DIR:?DEVICE_DIR is not set}"
umask 077

case "${OTTR_KEY_TYPE:-p256}" in
  p256)    set -- -newkey ec -pkeyopt ec_paramgen_curve:P-256 ;;
  p384)    set -- -newkey ec -pkeyopt ec_paramgen_curve:P-384 ;;
  rsa2048) set -- -newkey rsa:2048 ;;
  rsa4096) set -- -newkey rsa:4096 ;;
  *) echo "key type $OTTR_KEY_TYPE is not supported by this device" >&2; exit 65 ;;
esac

sans=${OTTR_SANS:-$OTTR_COMMON_NAME}
san_ext=$(printf '%s' "$sans" | sed 's/^/DNS:/; s/,/,DNS:/g')

# The key stays on the device, next to the certificate it will serve;
# made in a temp file and renamed, so a failed run leaves no half key.
tmp="$DEVICE_DIR/key.pending.pem.ottr-new-$$"
trap 'rm -f "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
openssl req -new "$@" -nodes -keyout "$tmp" \
  -subj "/CN=$OTTR_COMMON_NAME" -addext "subjectAltName=$san_ext" \
  -out "$OTTR_CSR_FILE" 2>/dev/null
mv "$tmp" "$DEVICE_DIR/key.pending.pem"
echo "made a ${OTTR_KEY_TYPE:-p256} key and a CSR for $sans" >&2
