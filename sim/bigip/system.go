package bigip

import (
	"time"
)

// stats is the nested "entries" form of tm stats answers, one numbered
// instance under path.
func stats(path string, fields map[string]string) map[string]any {
	entries := map[string]any{}
	for k, v := range fields {
		entries[k] = map[string]string{"description": v}
	}
	return map[string]any{"https://localhost" + path + "/0": map[string]any{"nestedStats": map[string]any{"entries": entries}}}
}

var versionFields = map[string]string{"Build": build, "Date": "Thu Nov 10 09:25:41 PST 2022", "Edition": "Final",
	"Product": "BIG-IP", "Title": "Main Package", "Version": version}

// system answers the read-only sys resources clients look at first: the
// sys collection (whose selfLink carries the version), sys version,
// provisioning, clock and hardware.
func (d *Device) system(p string) (int, any) {
	switch p {
	case "/mgmt/tm/sys":
		var items []map[string]any
		for _, s := range []string{"clock", "config", "crypto", "file", "hardware", "provision", "version"} {
			items = append(items, map[string]any{"reference": map[string]string{"link": selfLink("/mgmt/tm/sys/" + s)}})
		}
		return 200, map[string]any{"kind": "tm:sys:syscollectionstate", "selfLink": selfLink("/mgmt/tm/sys"), "items": items}
	case "/mgmt/tm/sys/version":
		return 200, map[string]any{"kind": "tm:sys:version:versionstats", "selfLink": selfLink(p), "entries": stats(p, versionFields)}
	case "/mgmt/tm/sys/clock":
		return 200, map[string]any{"kind": "tm:sys:clock:clockstats", "selfLink": selfLink(p),
			"entries": stats(p, map[string]string{"fullDate": time.Now().UTC().Format("2006-01-02T15:04:05Z")})}
	case "/mgmt/tm/sys/hardware":
		return 200, map[string]any{"kind": "tm:sys:hardware:hardwarestats", "selfLink": selfLink(p), "entries": map[string]any{
			"https://localhost/mgmt/tm/sys/hardware/platform": map[string]any{"nestedStats": map[string]any{"entries": stats("/mgmt/tm/sys/hardware/platform",
				map[string]string{"baseMac": "52:54:00:5e:1a:01", "biosRev": " ", "marketingName": "BIG-IP Virtual Edition"})}},
			"https://localhost/mgmt/tm/sys/hardware/system-info": map[string]any{"nestedStats": map[string]any{"entries": stats("/mgmt/tm/sys/hardware/system-info",
				map[string]string{"bigipChassisSerialNum": "4a5e1b2c-0d3f-4e6a-9b7c-sim000000001", "platform": "Z100",
					"hostBoardPartRevNum": " ", "hostBoardSerialNum": " ", "switchBoardPartRevNum": " ", "switchBoardSerialNum": " "})}},
		}}
	case "/mgmt/tm/sys/provision":
		var items []map[string]any
		for _, m := range []string{"afm", "am", "apm", "asm", "avr", "dos", "fps", "gtm", "ilx", "lc", "ltm", "pem", "sslo", "swg", "urldb"} {
			level := "none"
			if m == "ltm" {
				level = "nominal"
			}
			items = append(items, map[string]any{"kind": "tm:sys:provision:provisionstate", "name": m, "fullPath": m, "generation": 1,
				"selfLink": selfLink("/mgmt/tm/sys/provision/" + m), "cpuRatio": 0, "diskRatio": 0, "level": level, "memoryRatio": 0})
		}
		return 200, map[string]any{"kind": "tm:sys:provision:provisioncollectionstate", "selfLink": selfLink(p), "items": items}
	}
	return notModelled("GET " + p)
}
