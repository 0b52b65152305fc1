"""Key pairs through the real binary: CreateKeyPair (rsa and ed25519, pem and ppk), ImportKeyPair,
DescribeKeyPairs, DeleteKeyPair, tags, DryRun, the KeyPairExists waiter, and KeyName on RunInstances.
Keys and fingerprints are checked independently with the `cryptography` package and hashlib."""

import base64
import hashlib
import hmac
import json
import re

import botocore.exceptions
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import error_of

AL2023 = "ami-08f6cfac8c54bafdd"


def colon_hex(digest):
    return ":".join(f"{b:02x}" for b in digest)


def openssh_public(key):
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def ssh_blob(openssh_line):
    return base64.b64decode(openssh_line.split()[1])


def ppk_fields(text):
    """The fields of a PuTTY v2 key file, with the base64 sections decoded."""
    lines = text.splitlines()
    out = {}
    i = 0
    while i < len(lines):
        k, _, v = lines[i].partition(": ")
        if k in ("Public-Lines", "Private-Lines"):
            n = int(v)
            out[k.split("-")[0]] = base64.b64decode("".join(lines[i + 1 : i + 1 + n]))
            i += n + 1
            continue
        out[k] = v
        i += 1
    return out


def ssh_string(b):
    return len(b).to_bytes(4, "big") + b


def check_ppk_mac(fields, algorithm):
    """Recomputes the PuTTY v2 MAC of an unencrypted key file."""
    assert fields["PuTTY-User-Key-File-2"] == algorithm
    assert fields["Encryption"] == "none"
    key = hashlib.sha1(b"putty-private-key-file-mac-key").digest()
    data = b"".join(
        ssh_string(x)
        for x in (algorithm.encode(), b"none", fields["Comment"].encode(), fields["Public"], fields["Private"])
    )
    assert fields["Private-MAC"] == hmac.new(key, data, hashlib.sha1).hexdigest()


def describe(c, **kw):
    return c.describe_key_pairs(**kw)["KeyPairs"]


def test_create_rsa_pem_returns_a_pkcs1_key_with_the_sha1_of_pkcs8_fingerprint(ec2):
    kp = ec2.create_key_pair(KeyName="web")
    assert re.fullmatch(r"key-0[0-9a-f]{16}", kp["KeyPairId"])
    assert kp["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(kp["KeyMaterial"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert kp["KeyFingerprint"] == colon_hex(hashlib.sha1(pkcs8).digest())

    [info] = describe(ec2, KeyNames=["web"], IncludePublicKey=True)
    assert info["KeyPairId"] == kp["KeyPairId"]
    assert info["KeyType"] == "rsa"
    assert info["KeyFingerprint"] == kp["KeyFingerprint"]
    assert info["PublicKey"] == openssh_public(key.public_key()) + " web"
    assert "CreateTime" in info
    assert "PublicKey" not in describe(ec2, KeyNames=["web"])[0]


def test_create_ed25519_pem_is_an_openssh_key_with_the_sha256_fingerprint(ec2):
    kp = ec2.create_key_pair(KeyName="ed", KeyType="ed25519")
    assert kp["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    key = serialization.load_ssh_private_key(kp["KeyMaterial"].encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    public = openssh_public(key.public_key())
    assert kp["KeyFingerprint"] == base64.b64encode(hashlib.sha256(ssh_blob(public)).digest()).decode()
    [info] = describe(ec2, KeyPairIds=[kp["KeyPairId"]], IncludePublicKey=True)
    assert info["KeyType"] == "ed25519"
    assert info["PublicKey"] == public + " ed"


def test_create_ppk_files_carry_a_valid_mac_and_the_described_public_key(ec2):
    for key_type, algorithm in (("rsa", "ssh-rsa"), ("ed25519", "ssh-ed25519")):
        name = f"putty-{key_type}"
        kp = ec2.create_key_pair(KeyName=name, KeyType=key_type, KeyFormat="ppk")
        fields = ppk_fields(kp["KeyMaterial"])
        check_ppk_mac(fields, algorithm)
        assert fields["Comment"] == name
        [info] = describe(ec2, KeyNames=[name], IncludePublicKey=True)
        assert ssh_blob(info["PublicKey"]) == fields["Public"]
        assert info["KeyType"] == key_type


def test_import_openssh_keys_with_aws_fingerprints(ec2):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    rsa_line = openssh_public(rsa_key.public_key())
    imported = ec2.import_key_pair(KeyName="laptop-rsa", PublicKeyMaterial=(rsa_line + " me@laptop\n").encode())
    spki = rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert imported["KeyFingerprint"] == colon_hex(hashlib.md5(spki).digest())
    assert imported["KeyName"] == "laptop-rsa"
    assert imported["KeyPairId"].startswith("key-")

    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_line = openssh_public(ed_key.public_key())
    imported_ed = ec2.import_key_pair(KeyName="laptop-ed", PublicKeyMaterial=ed_line.encode())
    assert imported_ed["KeyFingerprint"] == base64.b64encode(hashlib.sha256(ssh_blob(ed_line)).digest()).decode()

    by_name = {k["KeyName"]: k for k in describe(ec2, IncludePublicKey=True)}
    assert by_name["laptop-rsa"]["PublicKey"] == rsa_line + " laptop-rsa"
    assert by_name["laptop-rsa"]["KeyType"] == "rsa"
    assert by_name["laptop-ed"]["KeyType"] == "ed25519"


@pytest.mark.parametrize(
    "material",
    [
        b"not a key",
        b"ssh-rsa AAAA",
        b"ssh-rsa !!!!",
    ],
)
def test_import_refuses_bad_material_with_invalid_key_pair_format(ec2, material):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_key_pair(KeyName="bad", PublicKeyMaterial=material)
    code, message, status = error_of(e)
    assert (code, status) == ("InvalidKeyPair.Format", 400)
    assert message == "Key is not in valid OpenSSH public key format"
    assert describe(ec2) == []


def test_import_refuses_unsupported_algorithms_and_rsa_lengths(ec2):
    ecdsa = openssh_public(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_key_pair(KeyName="ec", PublicKeyMaterial=ecdsa.encode())
    assert error_of(e)[0] == "InvalidKeyPair.Format"
    assert "ecdsa-sha2-nistp256" in error_of(e)[1]
    # A 768-bit modulus (no library makes one any more): string "ssh-rsa", mpint e, mpint n.
    modulus = b"\x00" + b"\xff" * 96
    blob = ssh_string(b"ssh-rsa") + ssh_string(b"\x01\x00\x01") + ssh_string(modulus)
    small = "ssh-rsa " + base64.b64encode(blob).decode()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_key_pair(KeyName="small", PublicKeyMaterial=small.encode())
    assert error_of(e)[0] == "InvalidKeyPair.Format"
    assert "768" in error_of(e)[1]
    assert describe(ec2) == []


def test_duplicate_names_and_missing_keys(ec2):
    ec2.create_key_pair(KeyName="dup", KeyType="ed25519")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_key_pair(KeyName="dup", KeyType="ed25519")
    assert error_of(e) == ("InvalidKeyPair.Duplicate", "The keypair 'dup' already exists.", 400)
    line = openssh_public(ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_key_pair(KeyName="dup", PublicKeyMaterial=line.encode())
    assert error_of(e)[0] == "InvalidKeyPair.Duplicate"
    assert len(describe(ec2)) == 1

    with pytest.raises(botocore.exceptions.ClientError) as e:
        describe(ec2, KeyNames=["dup", "nope"])
    assert error_of(e) == ("InvalidKeyPair.NotFound", "The key pair 'nope' does not exist", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        describe(ec2, KeyPairIds=["key-0123456789abcdef0"])
    assert error_of(e) == ("InvalidKeyPair.NotFound", "The key pair ID 'key-0123456789abcdef0' does not exist", 400)

    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_key_pair(KeyName="x" * 256)
    assert error_of(e)[0] == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_key_pair(KeyName="k", KeyType="dsa")
    assert error_of(e)[0] == "InvalidParameterValue"


def test_filters(ec2):
    a = ec2.create_key_pair(
        KeyName="web-a", TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": "env", "Value": "prod"}]}]
    )
    b = ec2.create_key_pair(KeyName="db-b", KeyType="ed25519")
    names = lambda filters: sorted(k["KeyName"] for k in describe(ec2, Filters=filters))  # noqa: E731
    assert names([{"Name": "key-name", "Values": ["web-*"]}]) == ["web-a"]
    assert names([{"Name": "key-pair-id", "Values": [b["KeyPairId"]]}]) == ["db-b"]
    assert names([{"Name": "fingerprint", "Values": [a["KeyFingerprint"]]}]) == ["web-a"]
    assert names([{"Name": "key-type", "Values": ["ed25519"]}]) == ["db-b"]
    assert names([{"Name": "tag:env", "Values": ["prod"]}]) == ["web-a"]
    assert names([{"Name": "tag-key", "Values": ["env"]}]) == ["web-a"]
    assert names([{"Name": "key-type", "Values": ["rsa", "ed25519"]}]) == ["db-b", "web-a"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        describe(ec2, Filters=[{"Name": "owner", "Values": ["x"]}])
    assert error_of(e)[0] == "InvalidParameterValue"


def test_tags_on_key_pairs(ec2):
    kp = ec2.create_key_pair(
        KeyName="tagged",
        KeyType="ed25519",
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": "team", "Value": "a"}]}],
    )
    assert kp["Tags"] == [{"Key": "team", "Value": "a"}]
    kid = kp["KeyPairId"]
    ec2.create_tags(Resources=[kid], Tags=[{"Key": "env", "Value": "test"}])
    [info] = describe(ec2, KeyPairIds=[kid])
    assert {t["Key"]: t["Value"] for t in info["Tags"]} == {"team": "a", "env": "test"}
    rows = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["key-pair"]}])["Tags"]
    assert sorted((r["ResourceId"], r["Key"]) for r in rows) == [(kid, "env"), (kid, "team")]
    ec2.delete_tags(Resources=[kid], Tags=[{"Key": "team"}])
    assert describe(ec2, KeyPairIds=[kid])[0]["Tags"] == [{"Key": "env", "Value": "test"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_tags(Resources=["key-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])
    assert error_of(e)[0] == "InvalidKeyPair.NotFound"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_key_pair(KeyName="t2", TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "a"}]}])
    assert error_of(e)[0] == "InvalidParameterValue"


def test_delete_by_name_and_id_and_a_missing_one_succeeds(ec2):
    a = ec2.create_key_pair(KeyName="a", KeyType="ed25519")
    b = ec2.create_key_pair(KeyName="b", KeyType="ed25519")
    r = ec2.delete_key_pair(KeyName="a")
    assert r["Return"] is True and r["KeyPairId"] == a["KeyPairId"]
    r = ec2.delete_key_pair(KeyPairId=b["KeyPairId"])
    assert r["Return"] is True and r["KeyPairId"] == b["KeyPairId"]
    assert describe(ec2) == []
    # EC2 answers a delete of a key pair that is not there with success.
    r = ec2.delete_key_pair(KeyName="a")
    assert r["Return"] is True and "KeyPairId" not in r
    # The name is free again.
    ec2.create_key_pair(KeyName="a", KeyType="ed25519")


def test_dry_run_everywhere_changes_nothing(ec2):
    kp = ec2.create_key_pair(KeyName="kept", KeyType="ed25519")
    line = openssh_public(ed25519.Ed25519PrivateKey.generate().public_key())
    calls = [
        lambda: ec2.create_key_pair(KeyName="new", DryRun=True),
        lambda: ec2.import_key_pair(KeyName="new", PublicKeyMaterial=line.encode(), DryRun=True),
        lambda: ec2.describe_key_pairs(DryRun=True),
        lambda: ec2.delete_key_pair(KeyName="kept", DryRun=True),
    ]
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_of(e)[0] == "DryRunOperation"
        assert error_of(e)[2] == 412
    assert [k["KeyPairId"] for k in describe(ec2)] == [kp["KeyPairId"]]


def test_key_pair_exists_waiter(ec2):
    ec2.create_key_pair(KeyName="waited", KeyType="ed25519")
    ec2.get_waiter("key_pair_exists").wait(KeyNames=["waited"], WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    with pytest.raises(botocore.exceptions.WaiterError):
        ec2.get_waiter("key_pair_exists").wait(KeyNames=["never"], WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_run_instances_checks_key_name_and_describe_shows_it(ec2):
    ec2.create_key_pair(KeyName="login", KeyType="ed25519")
    inst = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, KeyName="login")
    iid = inst["Instances"][0]["InstanceId"]
    assert inst["Instances"][0]["KeyName"] == "login"
    described = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert described["KeyName"] == "login"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, KeyName="missing")
    assert error_of(e) == ("InvalidKeyPair.NotFound", "The key pair 'missing' does not exist", 400)
    assert len(ec2.describe_instances()["Reservations"]) == 1


def test_key_pairs_are_scoped_to_account_and_region(server, ec2):
    ec2.create_key_pair(KeyName="mine", KeyType="ed25519")
    assert describe(server.client(region="eu-west-1")) == []
    other = server.client(access_key="111122223333")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        describe(other, KeyNames=["mine"])
    assert error_of(e)[0] == "InvalidKeyPair.NotFound"


def test_aws_cli(server, ec2, tmp_path):
    _, created, _ = server.cli("create-key-pair", "--key-name", "cli-ed", "--key-type", "ed25519", "--key-format", "ppk")
    check_ppk_mac(ppk_fields(created["KeyMaterial"]), "ssh-ed25519")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = tmp_path / "id_rsa.pub"
    pub.write_text(openssh_public(key.public_key()) + " me@host\n")
    _, imported, _ = server.cli("import-key-pair", "--key-name", "cli-rsa", "--public-key-material", f"fileb://{pub}")
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert imported["KeyFingerprint"] == colon_hex(hashlib.md5(spki).digest())
    _, listed, _ = server.cli("describe-key-pairs", "--filters", "Name=key-type,Values=ed25519")
    assert [k["KeyName"] for k in listed["KeyPairs"]] == ["cli-ed"]
    rc, _, err = server.cli("describe-key-pairs", "--key-names", "nope", check=False)
    assert rc != 0 and "InvalidKeyPair.NotFound" in err
    rc, _, err = server.cli("import-key-pair", "--key-name", "cli-rsa", "--public-key-material", f"fileb://{pub}",
                            check=False)
    assert rc != 0 and "InvalidKeyPair.Duplicate" in err
    _, deleted, _ = server.cli("delete-key-pair", "--key-pair-id", created["KeyPairId"])
    assert deleted["KeyPairId"] == created["KeyPairId"]
    server.cli("delete-key-pair", "--key-name", "cli-rsa")
    _, listed, _ = server.cli("describe-key-pairs")
    assert listed["KeyPairs"] == []
    json.dumps(listed)
