"""Drive the simulated Junos device with ncclient (device_params junos) and
print what each step got back as JSON; the Go test asserts on it."""
import json
import sys
import time

from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from ncclient.transport.session import NetconfBase

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = {}


def connect():
    return manager.connect(host=host, port=port, username=user, password=password,
                           hostkey_verify=False, allow_agent=False, look_for_keys=False,
                           device_params={"name": "junos"}, timeout=20)


def step(name, fn):
    try:
        out[name] = fn()
    except RPCError as e:
        out[name] = {"rpc_error": str(e), "tag": e.tag, "severity": e.severity}
    except Exception as e:  # recorded, asserted on by the Go test
        out[name] = {"error": "%s: %s" % (type(e).__name__, e)}


def ok(reply):
    """Junos's handler strips namespaces: <ok/> is found by local name."""
    return bool(reply.xpath("//ok"))


def texts(reply, path):
    root = etree.fromstring(reply.data_xml.encode()) if hasattr(reply, "data_xml") else reply
    return [t.text for t in root.iter() if etree.QName(t).localname == path]


m = connect()
out["base11"] = "urn:ietf:params:netconf:base:1.1" in m.server_capabilities and m._session._base == NetconfBase.BASE_11

step("running_hostname", lambda: texts(m.get_config(source="running"), "host-name"))
step("filtered", lambda: sorted({etree.QName(e).localname for e in etree.fromstring(
    m.get_config(source="running", filter=("subtree", "<configuration><system><host-name/></system></configuration>")).data_xml.encode()).iter()}))
step("lock", lambda: ok(m.lock(target="candidate")))

other = connect()
step("other_lock", lambda: ok(other.lock(target="candidate")))
step("other_edit", lambda: ok(other.edit_config(target="candidate", config="<config><configuration><system><host-name>intruder</host-name></system></configuration></config>")))
other.close_session()

step("edit", lambda: ok(m.edit_config(target="candidate", config="<config><configuration><system><host-name>nc-lab</host-name></system></configuration></config>")))
step("edit_bad", lambda: ok(m.edit_config(target="candidate", config="<config><configuration><system><no-such-statement>x</no-such-statement></system></configuration></config>")))
step("candidate_hostname", lambda: texts(m.get_config(source="candidate"), "host-name"))
step("running_before_commit", lambda: texts(m.get_config(source="running"), "host-name"))
step("validate", lambda: ok(m.validate(source="candidate")))
step("compare", lambda: m.compare_configuration(rollback=0).xpath("//configuration-output")[0].text)
step("commit", lambda: m.commit().xpath("//commit-success") != [])
step("running_after_commit", lambda: texts(m.get_config(source="running"), "host-name"))

step("edit_discard", lambda: ok(m.edit_config(target="candidate", config="<config><configuration><system><host-name>to-be-discarded</host-name></system></configuration></config>")))
step("discard", lambda: ok(m.discard_changes()))
step("candidate_after_discard", lambda: texts(m.get_config(source="candidate"), "host-name"))

step("load_set", lambda: m.load_configuration(action="set", config=["set system host-name nc-set", "set system domain-name example.net"]).xpath("//load-configuration-results/ok") != [])
step("commit_check", lambda: m.commit(check=True).xpath("//commit-check-success") != [])
step("running_after_check", lambda: texts(m.get_config(source="running"), "host-name"))
step("commit_set", lambda: m.commit().xpath("//commit-success") != [])
step("text_config", lambda: m.get_configuration(format="text").xpath("//configuration-text")[0].text)
step("rollback", lambda: m.rollback(rollback=1).xpath("//ok") != [])
step("rollback_diff", lambda: m.compare_configuration(rollback=0).xpath("//configuration-output")[0].text)
step("commit_rollback", lambda: m.commit().xpath("//commit-success") != [])
step("running_after_rollback", lambda: texts(m.get_config(source="running"), "host-name"))
step("load_warn", lambda: m.load_configuration(action="set", config=["delete system time-zone", "set system time-zone UTC"]).xpath("//ok") != [])
step("candidate_after_warn", lambda: m.get_configuration(format="set").xpath("//configuration-set")[0].text)
step("discard_warned", lambda: ok(m.discard_changes()))
step("unlock", lambda: ok(m.unlock(target="candidate")))

step("software", lambda: {t: texts(m.rpc(etree.Element("get-software-information")), t)[0]
                          for t in ("host-name", "product-model", "junos-version")})
step("show_version", lambda: m.command("show version", format="text").xpath("//output")[0].text)
step("show_config_set", lambda: m.command("show configuration system | display set", format="text").xpath("//configuration-output")[0].text)
step("bad_command", lambda: m.command("show no-such-thing", format="text").xpath("//output")[0].text)

# commit confirmed: rolled back unless confirmed (the device's minute is
# made short by the test).
step("lock_confirm", lambda: ok(m.lock(target="candidate")))
step("load_confirm", lambda: m.load_configuration(action="set", config=["set system host-name nc-unconfirmed"]).xpath("//ok") != [])
step("commit_confirmed", lambda: m.commit(confirmed=True, timeout="60").xpath("//commit-success") != [])
step("running_while_pending", lambda: texts(m.get_config(source="running"), "host-name"))
time.sleep(float(sys.argv[5]))
step("running_after_timeout", lambda: texts(m.get_config(source="running"), "host-name"))
step("load_kept", lambda: m.load_configuration(action="set", config=["set system host-name nc-confirmed"]).xpath("//ok") != [])
step("commit_confirmed_again", lambda: m.commit(confirmed=True, timeout="60").xpath("//commit-success") != [])
step("confirming_check", lambda: m.commit(check=True).xpath("//commit-check-success") != [])  # a commit check confirms too
time.sleep(float(sys.argv[5]))
step("running_confirmed", lambda: texts(m.get_config(source="running"), "host-name"))
step("bad_timeout", lambda: m.rpc(etree.fromstring("<commit-configuration><confirmed/><confirm-timeout>0</confirm-timeout></commit-configuration>")).xpath("//commit-success") != [])
step("unlock_confirm", lambda: ok(m.unlock(target="candidate")))
m.close_session()
print(json.dumps(out))
