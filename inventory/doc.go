// Package inventory reads and writes asset inventories in the forms Ottr's
// users have them: the output of `aws dynamodb scan` on Ottr's table,
// DynamoDB's export-to-S3 JSON lines, JSON arrays and JSON lines of assets
// with the API's field names, and CSV.
//
// Readers stream: records are decoded one at a time, so files of any size
// use constant memory. A record that cannot be decoded is returned with its
// position and the field at fault, and reading goes on with the next one
// wherever the format allows; only broken syntax that loses the thread is
// fatal.
//
// Conversion follows Ottr's conventions. Attribute names are the asset's
// JSON field names. certificate_expiration and certificate_not_before of
// "None", "" or NULL are null (never rotated); other values are ISO 8601.
// certificate_validation is "True"/"False" (any case) or a boolean and
// defaults to True, as Ottr creates assets. For the optional text fields
// (ip_address, device_model, data_center, os_version, origin, credential,
// dns_zone) Ottr's Python "None" means empty. Attributes Ottr's platform
// containers added are ignored. In CSV, subject_alternative_name holds names
// separated by ';' (or a JSON list) and labels holds k=v pairs separated
// by ';'.
package inventory
