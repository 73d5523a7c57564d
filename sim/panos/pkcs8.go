package panos

//lint:file-ignore ST1005 the device's own messages, capitalised as PAN-OS writes them

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"hash"
)

// decryptPKCS8 opens an EncryptedPrivateKeyInfo protected with PBES2
// (PBKDF2 and AES-CBC or 3DES-CBC), the form OpenSSL 3 writes for
// `openssl pkey -aes256`; the standard library reads only clear keys.
func decryptPKCS8(der, passphrase []byte) ([]byte, error) {
	var info struct {
		Algo struct {
			OID    asn1.ObjectIdentifier
			Params asn1.RawValue
		}
		Data []byte
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, errors.New("Malformed encrypted private key")
	}
	if !info.Algo.OID.Equal(oidPBES2) {
		return nil, errors.New("Unsupported private key encryption (only PBES2 is simulated)")
	}
	var params struct {
		KDF struct {
			OID    asn1.ObjectIdentifier
			Params asn1.RawValue
		}
		Cipher struct {
			OID asn1.ObjectIdentifier
			IV  []byte
		}
	}
	if _, err := asn1.Unmarshal(info.Algo.Params.FullBytes, &params); err != nil || !params.KDF.OID.Equal(oidPBKDF2) {
		return nil, errors.New("Unsupported private key encryption (only PBKDF2 is simulated)")
	}
	var kdf struct {
		Salt       []byte
		Iterations int
		KeyLen     int `asn1:"optional"`
		PRF        struct {
			OID asn1.ObjectIdentifier
		} `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(params.KDF.Params.FullBytes, &kdf); err != nil {
		return nil, errors.New("Malformed encrypted private key")
	}
	var prf func() hash.Hash
	switch {
	case kdf.PRF.OID == nil || kdf.PRF.OID.Equal(oidHMACSHA1):
		prf = sha1.New
	case kdf.PRF.OID.Equal(oidHMACSHA256):
		prf = sha256.New
	case kdf.PRF.OID.Equal(oidHMACSHA384):
		prf = sha512.New384
	case kdf.PRF.OID.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, errors.New("Unsupported private key encryption (PBKDF2 pseudo-random function)")
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch {
	case params.Cipher.OID.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case params.Cipher.OID.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case params.Cipher.OID.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case params.Cipher.OID.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, errors.New("Unsupported private key encryption (cipher)")
	}
	k, err := pbkdf2.Key(prf, string(passphrase), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, errors.New("Unsupported private key encryption (PBKDF2 parameters)")
	}
	block, err := newCipher(k)
	if err != nil || len(params.Cipher.IV) != block.BlockSize() || len(info.Data) == 0 || len(info.Data)%block.BlockSize() != 0 {
		return nil, errors.New("Malformed encrypted private key")
	}
	out := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, params.Cipher.IV).CryptBlocks(out, info.Data)
	// A wrong passphrase shows as bad padding or as garbage that is not a
	// PKCS#8 structure.
	pad := int(out[len(out)-1])
	if pad == 0 || pad > block.BlockSize() {
		return nil, errors.New("Wrong passphrase: the private key cannot be decrypted")
	}
	for _, p := range out[len(out)-pad:] {
		if int(p) != pad {
			return nil, errors.New("Wrong passphrase: the private key cannot be decrypted")
		}
	}
	// Bytes that are no key are the wrong passphrase's too; parseKey,
	// which parses them, says so.
	return out[:len(out)-pad], nil
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)
