// Package ssm rotates a certificate on a Linux instance through AWS
// Systems Manager Run Command (Ottr's otter-linux-aws-ssm recipe), with
// the AWS SDK for Go v2 and no SSH:
//
//  1. DescribeInstanceInformation finds the one managed instance tagged
//     Name=<system_name> (or the configured name) and checks its agent's
//     PingStatus is Online — none, several, or offline is an error saying
//     which;
//  2. AWS-RunShellScript runs the same scripts as the linux driver: openssl
//     on the instance makes the key (mode 0600, it never leaves the host)
//     and the CSR; the chain (public) travels in the command, is checked
//     against the key and moved into place with temp file + rename, the
//     previous pair kept for Restore; Ottr's /opt/otter/hooks/pre and post
//     run when present, then the reload command. Every failure leaves the
//     pair that was in place, on disk and in service, and no temp file;
//     Restore, from any process, places the kept previous pair again (see
//     hostscript.Files);
//  3. GetCommandInvocation is polled until the command ends; its exit
//     status, and the end of its stderr, decide the outcome.
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
