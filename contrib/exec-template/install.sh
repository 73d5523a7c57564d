#!/bin/sh
# install.sh — install the chain, make it the served certificate, commit.
#
# Must be idempotent: ottr may run it again after a crash or a retry.
#
# In:  OTTR_CHAIN_FILE (leaf first), OTTR_CERT_FILE, OTTR_CA_FILE,
#      OTTR_SERIAL; DEVICE_DIR.
set -eu
: "${DEVICE_DIR:?DEVICE_DIR is not set}"
umask 077

cert_pub=$(openssl x509 -in "$OTTR_CERT_FILE" -noout -pubkey)
key=""
for k in "$DEVICE_DIR/key.pending.pem" "$DEVICE_DIR/served.pem"; do
  if [ -f "$k" ] && [ "$(openssl pkey -in "$k" -pubout 2>/dev/null)" = "$cert_pub" ]; then
    key=$k
    break
  fi
done
if [ -z "$key" ]; then
  echo "no key on the device matches certificate $OTTR_SERIAL" >&2
  exit 65
fi

# Keep what is served now for rollback, then swap in key + chain with one
# rename, so the server never sees a key without its certificate.
if [ -f "$DEVICE_DIR/served.pem" ] && [ "$key" != "$DEVICE_DIR/served.pem" ]; then
  cp "$DEVICE_DIR/served.pem" "$DEVICE_DIR/served.prev.pem"
fi
{ openssl pkey -in "$key"; cat "$OTTR_CHAIN_FILE"; } > "$DEVICE_DIR/served.new"
mv "$DEVICE_DIR/served.new" "$DEVICE_DIR/served.pem"
rm -f "$DEVICE_DIR/key.pending.pem"
echo "serving certificate $OTTR_SERIAL" >&2
