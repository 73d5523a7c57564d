#!/bin/sh
# rollback.sh — make the previous certificate the served one again after a
# failed verification. OTTR_CHAIN_FILE holds the chain to restore.
#
# Ottr may run it in another process than the install (after a crash), and
# more than once: it works from what the device keeps, and a certificate
# already served back is success. It serves the kept certificate only
# with its own key, swapped in with one rename.
set -eu
: "${DEVICE_DIR:?DEVICE_DIR is not set}"
served="$DEVICE_DIR/served.pem"
prev="$DEVICE_DIR/served.prev.pem"
new="$served.ottr-new-$$"
trap 'rm -f "$new"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

want=$(openssl x509 -in "$OTTR_CERT_FILE" -noout -fingerprint -sha256)
if [ -f "$served" ] && [ "$(openssl x509 -in "$served" -noout -fingerprint -sha256 2>/dev/null)" = "$want" ]; then
  echo "the previous certificate is served already" >&2
  exit 0
fi
if [ ! -f "$prev" ] || [ "$(openssl x509 -in "$prev" -noout -fingerprint -sha256 2>/dev/null)" != "$want" ]; then
  echo "the device does not keep the certificate to restore" >&2
  exit 65
fi
if [ "$(openssl pkey -in "$prev" -pubout 2>/dev/null)" != "$(openssl x509 -in "$prev" -noout -pubkey 2>/dev/null)" ]; then
  echo "the kept certificate's key is not with it" >&2
  exit 65
fi
cp "$prev" "$new"
mv "$new" "$served"
echo "restored the previous certificate" >&2
