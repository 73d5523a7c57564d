// Package ssm rotates a certificate on a Linux instance through AWS
// Systems Manager Run Command (Ottr's otter-linux-aws-ssm recipe), with
// the AWS SDK for Go v2 and no SSH:
//
//  1. DescribeInstanceInformation finds the instance as Ottr's recipe did
//     (get_system_metadata in platforms/linux-aws-ssm/src/app.py): the
//     first of the system_name's and then each SAN's first DNS label
//     ("web01" for web01.example.com) that exactly one managed instance
//     carries as its Name tag, whose agent's PingStatus must be Online. A
//     tag on several instances, an offline agent, or no name found is an
//     error saying which. name_match: whole matches whole names instead;
//     name, one tag;
//  2. AWS-RunShellScript runs the hostscript scripts: Ottr's pre hook
//     directory (/opt/otter/hooks/pre: every *.sh, with bash, in order),
//     then openssl on the instance makes the key (RSA-2048 unless the
//     request asks for another type; mode 0600, it never leaves the host)
//     and the CSR with the request's subject fields, using only options
//     OpenSSL 1.0.2 has; the chain (public) travels in the command, is
//     checked against the key and moved into place with temp file +
//     rename beside the leaf alone and the issuers alone, in Ottr's
//     /opt/otter/certs/{<cn>.key,fullchain.cer,<cn>.cer,ca.cer} unless
//     other paths are set; the previous pair is kept for Restore; the
//     reload command and Ottr's post hook directory run. Every failure
//     leaves the files that were in place, on disk and in service, and no
//     temp file; Restore, from any process, places the kept previous pair
//     again (see hostscript.Files);
//  3. GetCommandInvocation is polled until the command ends; its exit
//     status, and the end of its stderr, decide the outcome.
//
// The new certificate must then be served over TLS at Serve, or, with
// verify: files, be the chain file in place, read through SSM (for
// instances that serve it nowhere Ottr can connect; Ottr itself never
// checked the host).
//
// Timeout bounds the run on the instance (AWS-RunShellScript's
// executionTimeout parameter; SSM stops the script and reports TimedOut);
// SendCommand's TimeoutSeconds, which bounds only delivery to the agent,
// is a minute, so a command the agent did not pick up never runs late.
//
// AWS credentials come from the credential set (access_key_id,
// secret_access_key, session_token) or the SDK's default chain. Refused
// credentials and AccessDenied are permanent; throttling and outages are
// transient.
//
// Minimum IAM permissions: ssm:DescribeInstanceInformation, ssm:SendCommand
// on the AWS-RunShellScript document and the instances, and
// ssm:GetCommandInvocation.
//
// Tested against sim/ssm, which speaks SSM's JSON protocol and runs the
// commands on the test machine.
package ssm
