import copy
import os
import sys
import unittest
from unittest import mock

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "functions")
)

import presignup  # noqa: E402


def signup_event(email, trigger="PreSignUp_SignUp"):
    return {
        "version": "1",
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_Example",
        "userName": "5f1e0c1a-0000-4000-8000-000000000001",
        "triggerSource": trigger,
        "request": {"userAttributes": {"email": email}, "validationData": None},
        "response": {
            "autoConfirmUser": False,
            "autoVerifyEmail": False,
            "autoVerifyPhone": False,
        },
    }


class PreSignUpTest(unittest.TestCase):
    def run_handler(self, email, allowed="example.com, Corp.Example.org", trigger="PreSignUp_SignUp"):
        env = {} if allowed is None else {"ALLOWED_DOMAINS": allowed}
        with mock.patch.dict(os.environ, env, clear=False):
            if allowed is None:
                os.environ.pop("ALLOWED_DOMAINS", None)
            with self.assertLogs(level="INFO") as logs:
                out = presignup.handler(signup_event(email, trigger), None)
        self.assertEqual(len(logs.output), 1)
        return out, logs.output[0]

    def assertConfirmed(self, out):
        self.assertIs(out["response"]["autoConfirmUser"], True)
        self.assertIs(out["response"]["autoVerifyEmail"], True)
        self.assertIs(out["response"]["autoVerifyPhone"], False)

    def assertNotConfirmed(self, out):
        self.assertIs(out["response"]["autoConfirmUser"], False)
        self.assertIs(out["response"]["autoVerifyEmail"], False)
        self.assertIs(out["response"]["autoVerifyPhone"], False)

    def test_allowed_domain_is_confirmed(self):
        out, line = self.run_handler("alice@example.com")
        self.assertConfirmed(out)
        self.assertEqual(out["request"]["userAttributes"]["email"], "alice@example.com")
        self.assertIn('"domain": "example.com"', line)
        self.assertIn('"decision": "auto-confirm"', line)

    def test_domain_is_case_insensitive_both_sides(self):
        out, _ = self.run_handler("bob@EXAMPLE.Com")
        self.assertConfirmed(out)
        out, _ = self.run_handler("bob@corp.example.org")
        self.assertConfirmed(out)

    def test_trailing_dot_is_stripped(self):
        out, line = self.run_handler("bob@example.com.")
        self.assertConfirmed(out)
        self.assertIn('"domain": "example.com"', line)

    def test_allow_list_tolerates_whitespace(self):
        out, _ = self.run_handler("bob@b.example", allowed="  a.example ,\tB.EXAMPLE ,, ")
        self.assertConfirmed(out)

    def test_two_at_signs_rejected(self):
        out, line = self.run_handler("alice@evil.test@example.com")
        self.assertNotConfirmed(out)
        self.assertIn("multiple-at-signs", line)
        self.assertNotIn("alice", line)
        self.assertNotIn("evil.test", line)

    def test_no_at_sign_rejected(self):
        out, line = self.run_handler("alice.example.com")
        self.assertNotConfirmed(out)
        self.assertIn("no-at-sign", line)
        self.assertNotIn("alice", line)

    def test_empty_local_part_rejected(self):
        out, line = self.run_handler("@example.com")
        self.assertNotConfirmed(out)
        self.assertIn("empty-local-part", line)

    def test_empty_domain_rejected(self):
        out, _ = self.run_handler("alice@")
        self.assertNotConfirmed(out)

    def test_domain_not_in_list_rejected(self):
        out, line = self.run_handler("mallory@other.test")
        self.assertNotConfirmed(out)
        self.assertIn('"domain": "other.test"', line)
        self.assertIn('"decision": "unconfirmed"', line)
        self.assertNotIn("mallory", line)

    def test_subdomain_of_allowed_domain_not_allowed(self):
        out, _ = self.run_handler("eve@sub.example.com")
        self.assertNotConfirmed(out)
        out, _ = self.run_handler("eve@notexample.com")
        self.assertNotConfirmed(out)

    def test_empty_allowed_domains_confirms_nothing(self):
        out, line = self.run_handler("alice@example.com", allowed="")
        self.assertNotConfirmed(out)
        self.assertIn("allow-list-empty", line)
        out, _ = self.run_handler("alice@example.com", allowed=" , ")
        self.assertNotConfirmed(out)

    def test_missing_allowed_domains_confirms_nothing(self):
        out, _ = self.run_handler("alice@example.com", allowed=None)
        self.assertNotConfirmed(out)

    def test_missing_email_does_not_raise(self):
        event = signup_event("x")
        del event["request"]["userAttributes"]["email"]
        with mock.patch.dict(os.environ, {"ALLOWED_DOMAINS": "example.com"}):
            out = presignup.handler(event, None)
        self.assertNotConfirmed(out)

    def test_non_string_email_and_missing_response_do_not_raise(self):
        event = signup_event(None)
        del event["response"]
        with mock.patch.dict(os.environ, {"ALLOWED_DOMAINS": "example.com"}):
            out = presignup.handler(event, None)
        self.assertIs(out["response"]["autoConfirmUser"], False)
        self.assertIs(out["response"]["autoVerifyEmail"], False)

    def test_admin_create_passes_through_unchanged(self):
        event = signup_event("alice@example.com", trigger="PreSignUp_AdminCreateUser")
        before = copy.deepcopy(event)
        with mock.patch.dict(os.environ, {"ALLOWED_DOMAINS": "example.com"}):
            out = presignup.handler(event, None)
        self.assertEqual(out, before)
        # Also unchanged for a domain that would otherwise be refused.
        event = signup_event("x@other.test", trigger="PreSignUp_AdminCreateUser")
        event["response"]["autoConfirmUser"] = True
        before = copy.deepcopy(event)
        with mock.patch.dict(os.environ, {"ALLOWED_DOMAINS": "example.com"}):
            out = presignup.handler(event, None)
        self.assertEqual(out, before)

    def test_external_provider_trigger_uses_same_rules(self):
        out, _ = self.run_handler("alice@example.com", trigger="PreSignUp_ExternalProvider")
        self.assertConfirmed(out)


class AllowedDomainsTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(
            presignup.allowed_domains(" Example.COM., b.test ,,"),
            frozenset({"example.com", "b.test"}),
        )
        self.assertEqual(presignup.allowed_domains(""), frozenset())


if __name__ == "__main__":
    unittest.main()
