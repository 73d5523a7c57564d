#!/bin/sh
# install.sh — install the chain, make it the served certificate, commit.
#
# Must be idempotent: ottr may run it again after a crash or a retry, in
# another process, with the same chain. Whatever fails, the device keeps
# serving a key with its own certificate and no temp file is left: the
# new key + chain are built in a temp file and swapped in with one rename.
#
# In:  OTTR_CHAIN_FILE (leaf first), OTTR_CERT_FILE, OTTR_CA_FILE,
#      OTTR_SERIAL; DEVICE_DIR.
set -eu
: "${DEVICE_DIR:?DEVICE_DIR is not set}"
umask 077
served="$DEVICE_DIR/served.pem"
new="$served.ottr-new-$$"
prevnew="$DEVICE_DIR/served.prev.pem.ottr-new-$$"
trap 'rm -f "$new" "$prevnew"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

cert_pub=$(openssl x509 -in "$OTTR_CERT_FILE" -noout -pubkey)
key=""
# The key served now (a repeated install) or the one csr.sh made, which
# stays until its certificate is served, so a retry finds it.
for k in "$served" "$DEVICE_DIR/key.pending.pem"; do
  if [ -f "$k" ] && [ "$(openssl pkey -in "$k" -pubout 2>/dev/null)" = "$cert_pub" ]; then
    key=$k
    break
  fi
done
if [ -z "$key" ]; then
  echo "no key on the device matches certificate $OTTR_SERIAL" >&2
  exit 65
fi

{ openssl pkey -in "$key"; cat "$OTTR_CHAIN_FILE"; } > "$new"
# Keep what is served now for rollback (through a temp file: a kept copy
# is never half written), unless it already is this certificate.
if [ -f "$served" ] && [ "$key" != "$served" ]; then
  cp "$served" "$prevnew"
  mv "$prevnew" "$DEVICE_DIR/served.prev.pem"
fi
# One rename swaps key and chain together: the server never sees a key
# without its certificate.
mv "$new" "$served"
rm -f "$DEVICE_DIR/key.pending.pem" || :
echo "serving certificate $OTTR_SERIAL" >&2
