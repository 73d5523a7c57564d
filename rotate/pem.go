package rotate

import (
	"crypto/x509"
	"encoding/pem"
)

func encodeCSR(csr *x509.CertificateRequest) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
}
