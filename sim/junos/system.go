package junos

import (
	"fmt"
	"time"
)

// The device's identity, as an SRX340 reports it.
const (
	model    = "srx340"
	version  = "23.4R1.9"
	serial   = "CV4719AF0123"
	reModel  = "RE-SRX340"
	bootedAt = 36 * time.Hour
)

// hostname is the active configuration's system host-name.
func (d *Device) hostname() string {
	if n, _ := d.history[0].config.subtree([]string{"system", "host-name"}); n != nil {
		return n.value
	}
	return "amnesiac" // what Junos calls a device with no host-name
}

func (d *Device) softwareInformation() string {
	return fmt.Sprintf(`<software-information>
<host-name>%s</host-name>
<product-model>%s</product-model>
<product-name>%s</product-name>
<junos-version>%s</junos-version>
<package-information><name>junos</name><comment>JUNOS Software Release [%s]</comment></package-information>
</software-information>`, esc(d.hostname()), model, model, version, version)
}

func (d *Device) versionText() string {
	return fmt.Sprintf("Hostname: %s\nModel: %s\nJunos: %s\nJUNOS Software Release [%s]", d.hostname(), model, version, version)
}

func (d *Device) routeEngineInformation() string {
	up := int(bootedAt.Seconds())
	return fmt.Sprintf(`<route-engine-information xmlns="http://xml.juniper.net/junos/%s/junos-chassis">
<route-engine>
<status>OK</status>
<model>%s</model>
<serial-number>%s</serial-number>
<start-time junos:seconds="%d">%s</start-time>
<up-time junos:seconds="%d">1 day, 12 hours</up-time>
<last-reboot-reason>0x1:power cycle/failure</last-reboot-reason>
</route-engine>
</route-engine-information>`, version, reModel, serial, time.Now().Add(-bootedAt).Unix(), time.Now().Add(-bootedAt).UTC().Format("2006-01-02 15:04:05 UTC"), up)
}

func (d *Device) chassisInventory() string {
	return fmt.Sprintf(`<chassis-inventory xmlns="http://xml.juniper.net/junos/%s/junos-chassis">
<chassis junos:style="inventory">
<name>Chassis</name>
<serial-number>%s</serial-number>
<description>%s</description>
<chassis-module><name>Routing Engine</name><description>%s</description></chassis-module>
</chassis>
</chassis-inventory>`, version, serial, "SRX340", reModel)
}
