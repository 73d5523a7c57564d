#!/bin/sh
# rollback.sh — put the previous certificate back after a failed
# verification. OTTR_CHAIN_FILE holds the chain to restore.
set -eu
: "${DEVICE_DIR:?DEVICE_DIR is not set}"
prev="$DEVICE_DIR/served.prev.pem"
if [ ! -f "$prev" ]; then
  echo "no previous certificate kept on the device" >&2
  exit 65
fi
want=$(openssl x509 -in "$OTTR_CERT_FILE" -noout -fingerprint -sha256)
have=$(openssl x509 -in "$prev" -noout -fingerprint -sha256)
if [ "$want" != "$have" ]; then
  echo "the kept certificate is not the one to restore" >&2
  exit 65
fi
cp "$prev" "$DEVICE_DIR/served.new"
mv "$DEVICE_DIR/served.new" "$DEVICE_DIR/served.pem"
echo "restored the previous certificate" >&2
