use super::*;

#[test]
fn counts_are_published_as_deltas_and_health_per_zone() {
    let stats = NlbStats::default();
    let mut last = Last::default();
    stats.new_flows.store(5, Ordering::Relaxed);
    stats.elb_resets.store(2, Ordering::Relaxed);
    let value = |data: &[MetricDatum], name: &str, az: Option<&str>| {
        data.iter()
            .find(|d| {
                d.metric_name() == Some(name)
                    && d.dimensions()
                        .iter()
                        .find(|x| x.name() == Some("AvailabilityZone"))
                        .and_then(|x| x.value())
                        == az
            })
            .and_then(|d| d.value())
    };
    let names = AwsNames::new();
    let first = datums(&stats, &[true, false], &names, &mut last, SystemTime::now());
    assert_eq!(value(&first, "NewFlowCount", None), Some(5.0));
    assert_eq!(value(&first, "TCP_ELB_Reset_Count", None), Some(2.0));
    assert_eq!(value(&first, "HealthyHostCount", Some("us-east-1a")), Some(1.0));
    assert_eq!(value(&first, "HealthyHostCount", Some("us-east-1b")), Some(0.0));
    assert_eq!(value(&first, "UnHealthyHostCount", None), Some(1.0));
    stats.new_flows.store(7, Ordering::Relaxed);
    let second = datums(&stats, &[true, false], &names, &mut last, SystemTime::now());
    assert_eq!(value(&second, "NewFlowCount", None), Some(2.0));
    assert_eq!(value(&second, "TCP_ELB_Reset_Count", None), Some(0.0));
}

#[test]
fn the_albs_counts_are_deltas_and_its_target_time_scenario_seconds() {
    let stats = AlbStats::default();
    let names = AwsNames::new();
    let mut last = [0; 7];
    stats.requests.store(10, Ordering::Relaxed);
    stats.elb_502.store(3, Ordering::Relaxed);
    // Two answers, 30 ms and 50 ms of real time, at speed 10.
    stats.target_response_us.store(80_000, Ordering::Relaxed);
    stats.target_responses.store(2, Ordering::Relaxed);
    let of = |data: &[MetricDatum], name: &str| {
        data.iter()
            .find(|d| d.metric_name() == Some(name) && d.dimensions().len() == 1)
            .cloned()
    };
    let first = alb_datums(&stats, &[true, false], &names, 10.0, &mut last, SystemTime::now());
    assert_eq!(of(&first, "RequestCount").unwrap().value(), Some(10.0));
    assert_eq!(of(&first, "HTTPCode_ELB_502_Count").unwrap().value(), Some(3.0));
    assert_eq!(of(&first, "HTTPCode_ELB_504_Count").unwrap().value(), Some(0.0));
    let time = of(&first, "TargetResponseTime").unwrap();
    let set = time.statistic_values().unwrap();
    assert_eq!((set.sample_count(), set.sum()), (Some(2.0), Some(0.8)));
    assert_eq!(time.unit(), Some(&StandardUnit::Seconds));
    assert!(first.iter().all(|d| d
        .dimensions()
        .iter()
        .any(|x| x.value() == Some(names.alb.as_str()))));
    let zone_b = first.iter().find(|d| {
        d.metric_name() == Some("HealthyHostCount")
            && d.dimensions().iter().any(|x| x.value() == Some("us-east-1b"))
    });
    assert_eq!(zone_b.and_then(|d| d.value()), Some(0.0));
    stats.requests.store(12, Ordering::Relaxed);
    let second = alb_datums(&stats, &[true, false], &names, 10.0, &mut last, SystemTime::now());
    assert_eq!(of(&second, "RequestCount").unwrap().value(), Some(2.0));
    assert_eq!(of(&second, "HTTPCode_ELB_502_Count").unwrap().value(), Some(0.0));
    // Nothing answered since: no response time to publish.
    assert!(of(&second, "TargetResponseTime").is_none());
}
