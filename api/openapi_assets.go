package api

import (
	"maps"

	"github.com/danielgtaylor/huma/v2"
)

// assetOutputOnly are the asset fields the API sets itself: a request may
// carry them (Ottr's clients send back what they read) but they are not
// taken from it. certificate_validation changes only through the
// certificate-validation routes.
var assetOutputOnly = []string{
	"origin", "certificate_expiration", "certificate_validation", "last_rotation",
	"certificate_serial", "certificate_issuer", "certificate_not_before", "renewal_window",
	"monitored", "certificate_observed_at",
}

// boolStrings are the certificate_validation values an asset body may
// carry (ottr.ParseBoolString); the API itself writes "True" or "False".
var boolStrings = []any{"True", "False", "true", "false", "TRUE", "FALSE", "T", "F", "t", "f", "1", "0"}

// assetExample is a complete new asset, the one the API description
// offers to try: every field a client sets, none the API sets.
var assetExample = map[string]any{
	"system_name":              "fw1.example.com",
	"common_name":              "fw1.example.com",
	"subject_alternative_name": []any{"fw1.example.com"},
	"certificate_authority":    "lets_encrypt",
	"host_platform":            "panos",
	"os_version":               "10.2",
	"device_model":             "PA-440",
	"ip_address":               "192.0.2.10",
	"data_center":              "dc1",
	"labels":                   map[string]any{"site": "lab"},
}

// assetMaxLengths are ottr.AssetLimits.Validate's length limits.
var assetMaxLengths = map[string]int{
	"system_name": 253, "common_name": 253, "dns_zone": 253,
	"os_version": 255, "device_model": 255, "data_center": 255, "origin": 255, "credential": 255,
}

// describeAssets makes the published asset schemas the ones served and
// taken. Asset (answers) says certificate_validation is Ottr's "True" or
// "False" string and marks what the API sets readOnly. AssetNew and
// AssetUpdate (request bodies) require what POST and PUT refuse to go
// without, and take certificate_validation in every form the API reads.
func describeAssets(doc *huma.OpenAPI) {
	schemas := doc.Components.Schemas.Map()
	asset := schemas["Asset"]
	if asset == nil {
		return
	}
	asset.Properties["certificate_validation"] = &huma.Schema{Type: "string", Enum: []any{"True", "False"},
		Description: `whether Ottr verifies the device's TLS certificate: the string "True" or "False", as Ottr's API sends it; set with the certificate-validation routes`}
	for _, k := range assetOutputOnly {
		if p := asset.Properties[k]; p != nil {
			p.ReadOnly = true
		}
	}
	input := func(desc string, required ...string) *huma.Schema {
		s := *asset
		s.Description = desc
		s.Required = required
		s.Properties = maps.Clone(asset.Properties)
		s.Properties["certificate_validation"] = &huma.Schema{ReadOnly: true,
			Description: "ignored: the API sets it (a new asset is validated); set it with the certificate-validation routes",
			AnyOf:       []*huma.Schema{{Type: "string", Enum: boolStrings}, {Type: "boolean"}}}
		s.Properties["certificate_expiration"] = &huma.Schema{ReadOnly: true, Type: "string", Nullable: true,
			Description: `ignored: the API records the expiry of the certificates it installs ("None", "" and null read as never rotated)`}
		// The lengths validation allows, published for clients and used by
		// bodyLimits to refuse a string far over them before any decoding.
		// Only requests carry them: assets Ottr stored may be longer.
		for k, n := range assetMaxLengths {
			if p := s.Properties[k]; p != nil {
				c := *p
				c.MaxLength = &n
				s.Properties[k] = &c
			}
		}
		return &s
	}
	newAsset := input("An asset to add. Fields marked readOnly are set by the API and ignored if sent.",
		"system_name", "common_name", "certificate_authority", "host_platform")
	newAsset.Examples = []any{assetExample}
	update := input("An asset's new settings, named by system_name. Fields marked readOnly are set by the API and ignored if sent; so is certificate_authority, which an update keeps.",
		"system_name", "common_name", "host_platform")
	update.Examples = []any{assetExample}
	ca := *update.Properties["certificate_authority"]
	ca.ReadOnly = true
	update.Properties["certificate_authority"] = &ca
	doc.Components.Schemas.Map()["AssetNew"] = newAsset
	doc.Components.Schemas.Map()["AssetUpdate"] = update
	for _, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Post, item.Put} {
			if op == nil || op.RequestBody == nil {
				continue
			}
			name := map[string]string{"create-asset": "AssetNew", "update-asset": "AssetUpdate"}[op.OperationID]
			if name == "" {
				continue
			}
			op.RequestBody.Required = true
			op.RequestBody.Content = map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/" + name}}}
		}
	}
}
