use super::*;
use crate::instances::lifecycle::tests::fixture;

const NOW: UnixMillis = UnixMillis(1_700_000_000_000);

fn durations() -> Durations {
    Durations { stop: 5_000, terminate: 7_000, ..Durations::INSTANT }
}

#[test]
fn names_round_trip_and_unknown_names_are_none() {
    for a in Attribute::ALL {
        assert_eq!(Attribute::parse(a.name()), Some(a));
    }
    assert_eq!(Attribute::parse("InstanceType"), None);
    assert_eq!(Attribute::parse("bogus"), None);
}

#[test]
fn read_only_and_resettable_sets() {
    let read_only: Vec<_> = Attribute::ALL.into_iter().filter(|a| !a.modifiable()).collect();
    assert_eq!(read_only, [Attribute::RootDeviceName, Attribute::ProductCodes, Attribute::EnclaveOptions]);
    let resettable: Vec<_> = Attribute::ALL.into_iter().filter(|a| a.resettable()).collect();
    assert_eq!(resettable, [Attribute::Kernel, Attribute::Ramdisk, Attribute::SourceDestCheck]);
    assert_eq!(check_modifiable(Attribute::ProductCodes), Err(AttrError::NotModifiable(Attribute::ProductCodes)));
}

#[test]
fn stopped_only_attributes_are_refused_in_every_other_live_state() {
    let stopped_only = [
        Change::InstanceType("t3.large".into()),
        Change::Kernel("aki-1".into()),
        Change::Ramdisk("ari-1".into()),
        Change::UserData("aGk=".into()),
        Change::EbsOptimized(true),
        Change::SriovNetSupport("simple".into()),
        Change::EnaSupport(false),
    ];
    for state in [InstanceState::Pending, InstanceState::Running, InstanceState::Stopping] {
        for c in &stopped_only {
            let mut i = fixture(state);
            let before = i.clone();
            assert_eq!(modify(&mut i, c.clone()), Err(AttrError::NotStopped { id: i.id.to_string() }), "{c:?}");
            assert_eq!(i, before);
        }
    }
    for c in stopped_only {
        let mut i = fixture(InstanceState::Stopped);
        assert_eq!(modify(&mut i, c), Ok(()));
    }
}

#[test]
fn changes_apply_to_the_record() {
    let mut i = fixture(InstanceState::Stopped);
    modify(&mut i, Change::InstanceType("m5.large".into())).unwrap();
    modify(&mut i, Change::UserData("aGVsbG8=".into())).unwrap();
    modify(&mut i, Change::EnaSupport(false)).unwrap();
    assert_eq!(i.instance_type, "m5.large");
    assert_eq!(i.attributes.user_data.as_deref(), Some("aGVsbG8="));
    assert!(!i.ena_support);
    modify(&mut i, Change::UserData(String::new())).unwrap();
    assert_eq!(i.attributes.user_data, None);
}

#[test]
fn any_state_attributes_change_while_running_but_not_once_terminated() {
    let mut i = fixture(InstanceState::Running);
    modify(&mut i, Change::DisableApiTermination(true)).unwrap();
    modify(&mut i, Change::DisableApiStop(true)).unwrap();
    modify(&mut i, Change::SourceDestCheck(false)).unwrap();
    modify(&mut i, Change::ShutdownBehavior(ShutdownBehavior::Terminate)).unwrap();
    assert!(i.disable_api_termination && i.disable_api_stop && !i.attributes.source_dest_check);
    assert_eq!(i.shutdown_behavior, ShutdownBehavior::Terminate);
    for state in [InstanceState::ShuttingDown, InstanceState::Terminated] {
        let mut t = fixture(state);
        assert_eq!(
            modify(&mut t, Change::SourceDestCheck(false)),
            Err(AttrError::Gone { id: t.id.to_string(), state })
        );
    }
}

#[test]
fn block_device_changes_name_attached_devices_only() {
    let mut i = fixture(InstanceState::Running);
    assert_eq!(
        modify(&mut i, Change::BlockDevices(vec![("/dev/sdz".into(), Some(false))])),
        Err(AttrError::NoDevice("/dev/sdz".into()))
    );
    assert!(i.volumes[0].delete_on_termination);
    modify(&mut i, Change::BlockDevices(vec![("/dev/xvda".into(), Some(false))])).unwrap();
    assert!(!i.volumes[0].delete_on_termination);
}

#[test]
fn reset_rules() {
    let mut i = fixture(InstanceState::Running);
    i.attributes.source_dest_check = false;
    reset(&mut i, Attribute::SourceDestCheck).unwrap();
    assert!(i.attributes.source_dest_check);
    assert_eq!(reset(&mut i, Attribute::Kernel), Err(AttrError::NotStopped { id: i.id.to_string() }));
    assert_eq!(reset(&mut i, Attribute::UserData), Err(AttrError::NotResettable(Attribute::UserData)));
    let mut s = fixture(InstanceState::Stopped);
    s.attributes.kernel_id = Some("aki-1".into());
    s.attributes.ramdisk_id = Some("ari-1".into());
    reset(&mut s, Attribute::Kernel).unwrap();
    reset(&mut s, Attribute::Ramdisk).unwrap();
    assert_eq!((&s.attributes.kernel_id, &s.attributes.ramdisk_id), (&None, &None));
}

#[test]
fn guest_shutdown_stops_or_terminates_by_the_behavior() {
    let d = durations();
    let mut i = fixture(InstanceState::Running);
    i.disable_api_stop = true;
    let c = guest_shutdown(&mut i, NOW, &d).unwrap();
    assert_eq!((c.previous, c.current), (InstanceState::Running, InstanceState::Stopping));
    assert_eq!(i.pending, Some(Pending { due: NOW.plus_millis(5_000), transition: Transition::BecomeStopped }));
    assert_eq!(i.state_reason.as_ref().unwrap().code, "Client.InstanceInitiatedShutdown");

    let mut t = fixture(InstanceState::Running);
    t.shutdown_behavior = ShutdownBehavior::Terminate;
    t.disable_api_termination = true;
    guest_shutdown(&mut t, NOW, &d).unwrap();
    assert_eq!(t.state, InstanceState::ShuttingDown);
    assert_eq!(t.pending.unwrap().transition, Transition::BecomeTerminated);

    let mut s = fixture(InstanceState::Running);
    s.root_device_type = RootDeviceType::InstanceStore;
    guest_shutdown(&mut s, NOW, &d).unwrap();
    assert_eq!(s.state, InstanceState::ShuttingDown);

    for state in [InstanceState::Pending, InstanceState::Stopped, InstanceState::Terminated] {
        let mut n = fixture(state);
        assert_eq!(guest_shutdown(&mut n, NOW, &d), Err(AttrError::NotRunning { id: n.id.to_string(), state }));
    }
}

#[test]
fn old_records_read_with_default_attributes() {
    let mut v = serde_json::to_value(fixture(InstanceState::Running)).unwrap();
    v.as_object_mut().unwrap().remove("attributes");
    let i: Instance = serde_json::from_value(v).unwrap();
    assert_eq!(*i.attributes, Attributes::default());
    assert!(i.attributes.source_dest_check);
}

#[test]
fn metadata_options_change_member_by_member_within_range() {
    let base = MetadataOptions::default();
    let m = base
        .with(&MetadataChange { http_tokens: Some("optional".into()), hop_limit: Some(1), ..Default::default() })
        .unwrap();
    assert_eq!((m.http_tokens.as_str(), m.hop_limit, m.http_endpoint.as_str()), ("optional", 1, "enabled"));
    assert_eq!(
        base.with(&MetadataChange { hop_limit: Some(65), ..Default::default() }),
        Err(BadMetadataValue { parameter: "HttpPutResponseHopLimit", value: "65".into() })
    );
    assert_eq!(
        base.with(&MetadataChange { http_endpoint: Some("on".into()), ..Default::default() }),
        Err(BadMetadataValue { parameter: "HttpEndpoint", value: "on".into() })
    );
    assert_eq!(base.with(&MetadataChange::default()), Ok(base));
}

#[test]
fn monitoring_changes_until_the_instance_is_gone() {
    let mut i = fixture(InstanceState::Stopped);
    set_monitoring(&mut i, true).unwrap();
    assert!(i.monitoring);
    let mut t = fixture(InstanceState::Terminated);
    assert!(set_monitoring(&mut t, true).is_err());
    assert!(!t.monitoring);
}

#[test]
fn console_output_names_the_instance_once_it_has_booted() {
    let mut i = fixture(InstanceState::Pending);
    assert_eq!(console_output(&i), None);
    i.ever_running = true;
    let (text, at) = console_output(&i).unwrap();
    assert!(text.contains(&*i.id) && text.contains("ip-172-31-0-4 login:"), "{text}");
    assert_eq!(at, i.launch_time.plus_millis(14_000));
    i.platform = Some("windows".into());
    let (text, _) = console_output(&i).unwrap();
    assert!(text.contains("Windows is Ready to use") && text.contains(&*i.id));
}
