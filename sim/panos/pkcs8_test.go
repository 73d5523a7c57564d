package panos

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/pem"
	"strings"
	"testing"
)

// A passphrase that decrypts to well-padded bytes which are not a PKCS#8
// key is a wrong passphrase, as the device says it, not a malformed key:
// a wrong passphrase gives such bytes now and then (valid padding once in
// 256 tries, and a DER value by chance), and the device cannot tell the
// two apart.
func TestDecryptionThatIsNoKeyIsAWrongPassphrase(t *testing.T) {
	type algo struct {
		OID    asn1.ObjectIdentifier
		Params asn1.RawValue
	}
	salt, iv := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	kdf, _ := asn1.Marshal(struct {
		Salt       []byte
		Iterations int
		PRF        struct{ OID asn1.ObjectIdentifier }
	}{salt, 1000, struct{ OID asn1.ObjectIdentifier }{oidHMACSHA256}})
	params, _ := asn1.Marshal(struct {
		KDF    algo
		Cipher struct {
			OID asn1.ObjectIdentifier
			IV  []byte
		}
	}{algo{oidPBKDF2, asn1.RawValue{FullBytes: kdf}}, struct {
		OID asn1.ObjectIdentifier
		IV  []byte
	}{oidAES256CBC, iv}})

	// Not a key, but one DER value, PKCS#7-padded to the block.
	plain, _ := asn1.Marshal(42)
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	k, _ := pbkdf2.Key(sha256.New, "Curl.Phrase", salt, 1000, 32)
	block, _ := aes.NewCipher(k)
	data := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, plain)
	der, err := asn1.Marshal(struct {
		Algo algo
		Data []byte
	}{algo{oidPBES2, asn1.RawValue{FullBytes: params}}, data})
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseKey(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}, "Curl.Phrase")
	if err == nil || !strings.HasPrefix(err.Error(), "Wrong passphrase") {
		t.Errorf("got %v, want the device's wrong-passphrase error", err)
	}
}
