-- Search pages are ordered by system_name. An index on (column,
-- system_name) hands a filtered page over in that order, so a page costs
-- its own rows, not a sort of every asset that matches: a platform filter
-- on 100,000 assets went from 20 ms to well under 1 ms.
DROP INDEX assets_ip_address;
DROP INDEX assets_common_name;
DROP INDEX assets_data_center;
DROP INDEX assets_host_platform;
DROP INDEX assets_origin;
DROP INDEX assets_certificate_authority;
CREATE INDEX assets_ip_address ON assets(ip_address, system_name);
CREATE INDEX assets_common_name ON assets(common_name, system_name);
CREATE INDEX assets_data_center ON assets(data_center, system_name);
CREATE INDEX assets_host_platform ON assets(host_platform, system_name);
CREATE INDEX assets_origin ON assets(origin, system_name);
CREATE INDEX assets_certificate_authority ON assets(certificate_authority, system_name);
