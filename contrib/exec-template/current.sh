#!/bin/sh
# current.sh — print the chain the device serves (PEM, leaf first).
# Optional: without it ottr reads the chain from a TLS handshake with the
# device's address.
set -eu
: "${DEVICE_DIR:?DEVICE_DIR is not set}"
sed -n '/-BEGIN CERTIFICATE-/,/-END CERTIFICATE-/p' "$DEVICE_DIR/served.pem"
