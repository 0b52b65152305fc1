//! The fleet scenario: CreateFleet of type instant, `--fleet-size` instances each (half On-Demand,
//! half Spot with price-capacity-optimized over five zones), `--fleets` times one after the other
//! on one keep-alive connection, then one DescribeFleets of everything. Measures instances
//! launched per second and the latency of each CreateFleet.

use std::time::Instant;

use serde::Serialize;

use crate::cli::Args;
use crate::http::Client;
use crate::instances::{instance_ids, IMAGE_ID, INSTANCE_TYPE, MAX_INSTANCES};
use crate::report::Summary;
use crate::server::{memory_kib, start_ready, store_args};
use crate::stats::{mib, round1, summary};
use crate::Result;

/// The fleet's zones: us-east-1's that offer the instance type (us-east-1e offers no t3).
pub const ZONES: [&str; 5] = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"];

#[derive(Serialize)]
pub struct FleetReport {
    pub fleets: usize,
    pub fleet_size: usize,
    pub instances: usize,
    pub seconds: f64,
    pub instances_per_second: f64,
    pub create_fleet_ms: Summary,
    pub describe_fleets_ms: f64,
    pub rss_mib: f64,
}

/// The CreateFleet body of one instant fleet of `n` instances.
pub fn create_fleet_body(template: &str, n: usize) -> String {
    let mut body = format!(
        "Action=CreateFleet&Version=2016-11-15&Type=instant\
         &TargetCapacitySpecification.TotalTargetCapacity={n}\
         &TargetCapacitySpecification.OnDemandTargetCapacity={}\
         &TargetCapacitySpecification.DefaultTargetCapacityType=spot\
         &SpotOptions.AllocationStrategy=price-capacity-optimized\
         &OnDemandOptions.AllocationStrategy=lowest-price\
         &LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateName={template}",
        n / 2
    );
    for (i, zone) in ZONES.iter().enumerate() {
        body.push_str(&format!(
            "&LaunchTemplateConfigs.1.Overrides.{k}.InstanceType={INSTANCE_TYPE}\
             &LaunchTemplateConfigs.1.Overrides.{k}.AvailabilityZone={zone}",
            k = i + 1
        ));
    }
    body
}

pub async fn run(args: &Args, bin: &std::path::Path, problems: &mut Vec<String>) -> Result<FleetReport> {
    let (fleets, size) = (args.fleets, args.fleet_size);
    // Five default subnets of 4091 addresses.
    let most = MAX_INSTANCES * ZONES.len() / 6;
    if fleets == 0 || size == 0 || fleets * size > most {
        return Err(format!("--fleets x --fleet-size must be in [1, {most}]").into());
    }
    let (server_args, _data_dir) = store_args(&args.store)?;
    let (server, _, _) = start_ready(bin, &server_args).await?;
    let mut client = Client::new(server.addr(), "us-east-1");
    client
        .call(
            "CreateLaunchTemplate",
            format!(
                "Action=CreateLaunchTemplate&Version=2016-11-15&LaunchTemplateName=bench\
                 &LaunchTemplateData.ImageId={IMAGE_ID}&LaunchTemplateData.InstanceType={INSTANCE_TYPE}"
            ),
        )
        .await?;
    eprintln!("ec2d-bench: {fleets} instant fleets of {size} instances");
    let body = create_fleet_body("bench", size);
    let mut calls = Vec::with_capacity(fleets);
    let mut launched = 0;
    let t0 = Instant::now();
    for i in 0..fleets {
        let started = Instant::now();
        let answer = client.call(&format!("CreateFleet #{}", i + 1), body.clone()).await?;
        calls.push(started.elapsed());
        let got = answer_instances(&answer);
        if got != size {
            problems.push(format!("CreateFleet #{}: {got} instances, expected {size}", i + 1));
        }
        launched += got;
    }
    let elapsed = t0.elapsed();
    let started = Instant::now();
    let all = client.call("DescribeFleets", "Action=DescribeFleets&Version=2016-11-15".into()).await?;
    let describe_ms = round1(started.elapsed().as_secs_f64() * 1000.0);
    let listed = String::from_utf8_lossy(&all).matches("<fleetId>").count();
    if listed != fleets {
        problems.push(format!("DescribeFleets lists {listed} fleets, expected {fleets}"));
    }
    let (rss, _) = memory_kib(server.pid())?;
    Ok(FleetReport {
        fleets,
        fleet_size: size,
        instances: launched,
        seconds: round1(elapsed.as_secs_f64()),
        instances_per_second: round1(launched as f64 / elapsed.as_secs_f64().max(1e-9)),
        create_fleet_ms: summary(&calls),
        describe_fleets_ms: describe_ms,
        rss_mib: mib(rss),
    })
}

/// The instance IDs of a CreateFleet answer.
fn answer_instances(xml: &[u8]) -> usize {
    // `<item>` of `instanceIds` holds the IDs as text; they are the only `i-` items.
    let text = String::from_utf8_lossy(xml);
    let ids = instance_ids(xml).len();
    if ids > 0 {
        return ids;
    }
    text.matches("<item>i-").count()
}

pub fn table(r: &FleetReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "fleets {} x {} instances: {} launched in {:.1} s = {:.1} instances/s\n",
        r.fleets, r.fleet_size, r.instances, r.seconds, r.instances_per_second
    ));
    out.push_str(&format!(
        "CreateFleet ms: min {:.1}  median {:.1}  max {:.1}\n",
        r.create_fleet_ms.min, r.create_fleet_ms.median, r.create_fleet_ms.max
    ));
    out.push_str(&format!("DescribeFleets of everything: {:.1} ms; RSS {:.1} MiB\n", r.describe_fleets_ms, r.rss_mib));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_every_zone_and_splits_the_target() {
        let b = create_fleet_body("t", 10);
        assert!(b.contains("TotalTargetCapacity=10&"));
        assert!(b.contains("OnDemandTargetCapacity=5&"));
        assert!(b.contains("Overrides.5.AvailabilityZone=us-east-1f"));
    }

    #[test]
    fn instance_ids_are_counted_from_item_lists() {
        let xml = b"<instanceIds><item>i-01</item><item>i-02</item></instanceIds>";
        assert_eq!(answer_instances(xml), 2);
    }
}
