//! Launch templates: CreateLaunchTemplate, DescribeLaunchTemplates, DeleteLaunchTemplate,
//! CreateLaunchTemplateVersion, DescribeLaunchTemplateVersions, DeleteLaunchTemplateVersions,
//! ModifyLaunchTemplate and GetLaunchTemplateData, and [`resolve`], which turns a
//! `LaunchTemplateSpecification` (RunInstances, fleets) into the version's launch data.
//!
//! A version's data is kept as the model's generic tree (`ec2_core::launch_templates::LaunchData`):
//! the request's `RequestLaunchTemplateData` is turned into it member by member by its model name,
//! and `ResponseLaunchTemplateData` is read back from it (the two shapes have the same members), so
//! every member a caller sends comes back unchanged. The rules (versions, defaults, deletion,
//! inheritance) are `ec2_core::launch_templates`'.

use std::collections::BTreeMap;

use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::launch_templates::{
    self as lt, DeleteRefusal, LaunchData, LaunchTemplate, LaunchTemplateVersion, LtError, VersionRef,
};
use ec2_protocol::wirecheck::{FromJson, ToJson};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    fingerprint, load_named, new_id, not_found, paginate, remember, replay, tag_set, tag_specifications, tags_for,
    well_formed, PageBounds,
};
use super::tags::ResourceTags;
use super::{dry_run_gate, filters, instances, Ctx, Result};

pub const RESOURCE_TYPE: &str = "launch-template";

fn one_to_two_hundred() -> PageBounds {
    PageBounds {
        min: 1,
        max: 200,
        cap_above_max: false,
        message: |n| format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 1 and 200."),
    }
}

fn name_not_found(name: &str) -> Ec2Error {
    Ec2Error::new(
        Code::InvalidLaunchTemplateNameNotFound,
        format!("The specified launch template, with template name {name}, does not exist."),
    )
}

fn name_malformed(name: &str) -> Ec2Error {
    Ec2Error::new(
        Code::InvalidLaunchTemplateNameMalformed,
        format!(
            "The launch template name '{name}' is not valid: a name has 3 to 128 characters, letters, digits and ( ) . - / _ only."
        ),
    )
}

fn version_not_found(t: &LaunchTemplate, n: u64) -> Ec2Error {
    Ec2Error::new(
        Code::InvalidLaunchTemplateIdVersionNotFound,
        format!("Could not find launch template version {n} for launch template {}.", t.id),
    )
}

fn version_malformed(v: &str) -> Ec2Error {
    Ec2Error::invalid_parameter_value(format!(
        "The version '{v}' is not valid: use a version number, $Latest or $Default."
    ))
}

/// The EC2 error of a core refusal about template `t`.
fn lt_error(t: Option<&LaunchTemplate>, e: LtError) -> Ec2Error {
    match e {
        LtError::NameMalformed(n) => name_malformed(&n),
        LtError::VersionMalformed(v) => version_malformed(&v),
        LtError::VersionNotFound(n) => match t {
            Some(t) => version_not_found(t, n),
            None => Ec2Error::new(Code::InvalidLaunchTemplateIdVersionNotFound, format!("Version {n} does not exist.")),
        },
        LtError::DescriptionTooLong => Ec2Error::invalid_parameter_value(format!(
            "The version description must be at most {} characters.",
            lt::DESCRIPTION_MAX
        )),
    }
}

fn created_by(ctx: &Ctx<'_>) -> String {
    format!("arn:aws:iam::{}:root", ctx.scope.account)
}

// ---------------------------------------------------------------------------------------------
// Launch data <-> DTO

/// The launch data of a request, by model member names.
pub fn data_of_request(d: &dto::RequestLaunchTemplateData) -> LaunchData {
    match d.to_json() {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => LaunchData::new(),
    }
}

/// The response shape of stored launch data.
pub fn response_data(d: &LaunchData) -> Result<dto::ResponseLaunchTemplateData> {
    let v = serde_json::Value::Object(d.clone().into_iter().collect());
    dto::ResponseLaunchTemplateData::from_json(&v)
        .map_err(|e| Ec2Error::internal(format!("Stored launch template data is unreadable ({e}).")).into())
}

/// Checks the parts of launch data EC2 checks when a version is created: the version-independent
/// syntax of IDs it names and the tag specifications.
fn check_data(d: &dto::RequestLaunchTemplateData) -> Result<()> {
    if let Some(image) = &d.image_id {
        if !image.starts_with("resolve:ssm:") {
            well_formed(IdKind::Image, std::slice::from_ref(image))?;
        }
    }
    if let Some(groups) = &d.security_group_ids {
        well_formed(IdKind::SecurityGroup, groups)?;
    }
    for spec in d.tag_specifications.iter().flatten() {
        let tags: Vec<dto::Tag> = spec.tags.clone().unwrap_or_default();
        super::common::dto_tags(&tags)?;
    }
    if let Some(u) = &d.user_data {
        if ec2_core::text::base64_decode(u).is_none() {
            return Err(Ec2Error::invalid_parameter_value("Invalid BASE64 encoding of user data.").into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Records

fn tags_of(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<BTreeMap<String, String>> {
    Ok(tx.get::<ResourceTags>(ctx.scope.key(), id)?.map(|r| r.tags).unwrap_or_default())
}

fn template_dto(t: &LaunchTemplate, tags: &BTreeMap<String, String>) -> dto::LaunchTemplate {
    dto::LaunchTemplate {
        launch_template_id: Some(t.id.clone()),
        launch_template_name: Some(t.name.clone()),
        create_time: Some(t.create_time),
        created_by: Some(t.created_by.clone()),
        default_version_number: Some(t.default_version as i64),
        latest_version_number: Some(t.latest_version as i64),
        tags: tag_set(tags),
        operator: Some(dto::OperatorResponse { managed: Some(false), ..Default::default() }),
    }
}

fn version_dto(t: &LaunchTemplate, v: &LaunchTemplateVersion) -> Result<dto::LaunchTemplateVersion> {
    Ok(dto::LaunchTemplateVersion {
        launch_template_id: Some(t.id.clone()),
        launch_template_name: Some(t.name.clone()),
        version_number: Some(v.number as i64),
        version_description: v.description.clone(),
        create_time: Some(v.create_time),
        created_by: Some(v.created_by.clone()),
        default_version: Some(v.number == t.default_version),
        launch_template_data: Some(response_data(&v.data)?),
        operator: Some(dto::OperatorResponse { managed: Some(false), ..Default::default() }),
    })
}

fn all_templates(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<LaunchTemplate>> {
    Ok(tx.scan::<LaunchTemplate>(ctx.scope.key())?)
}

fn by_name(ctx: &Ctx<'_>, tx: &mut Txn<'_>, name: &str) -> Result<Option<LaunchTemplate>> {
    Ok(all_templates(ctx, tx)?.into_iter().find(|t| t.name == name))
}

/// How a request names one template.
enum Named {
    Id(String),
    Name(String),
}

/// The template a request names by `LaunchTemplateId` or `LaunchTemplateName` (exactly one), after
/// syntax checks; looked up by [`find`] after the gate.
fn named(id: &Option<String>, name: &Option<String>) -> Result<Named> {
    match (id.as_deref().filter(|s| !s.is_empty()), name.as_deref().filter(|s| !s.is_empty())) {
        (Some(_), Some(_)) => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "Only one of LaunchTemplateId or LaunchTemplateName can be specified.",
        )
        .into()),
        (None, None) => Err(Ec2Error::missing_parameter("LaunchTemplateId or LaunchTemplateName").into()),
        (Some(id), None) => {
            well_formed(IdKind::LaunchTemplate, &[id.to_string()])?;
            Ok(Named::Id(id.to_string()))
        }
        (None, Some(name)) => {
            lt::check_name(name).map_err(|e| lt_error(None, e))?;
            Ok(Named::Name(name.to_string()))
        }
    }
}

fn find(ctx: &Ctx<'_>, tx: &mut Txn<'_>, which: &Named) -> Result<LaunchTemplate> {
    match which {
        Named::Id(id) => {
            Ok(load_named::<LaunchTemplate>(ctx, tx, IdKind::LaunchTemplate, std::slice::from_ref(id))?.remove(0))
        }
        Named::Name(name) => by_name(ctx, tx, name)?.ok_or_else(|| name_not_found(name).into()),
    }
}

fn load_version(ctx: &Ctx<'_>, tx: &mut Txn<'_>, t: &LaunchTemplate, n: u64) -> Result<LaunchTemplateVersion> {
    tx.get::<LaunchTemplateVersion>(ctx.scope.key(), &LaunchTemplateVersion::key(&t.id, n))?
        .ok_or_else(|| version_not_found(t, n).into())
}

/// The data of a template's version, as a `LaunchTemplateSpecification` names it (`Version`
/// defaults to `$Default`): the pure core resolution over the stored records. Fleets and
/// RunInstances launch from it.
pub struct Resolved {
    pub template: LaunchTemplate,
    pub version: u64,
    pub data: LaunchData,
}

impl Resolved {
    /// The version's data in the response shape.
    pub fn response(&self) -> Result<dto::ResponseLaunchTemplateData> {
        response_data(&self.data)
    }
}

/// Resolves a launch template specification (ID or name, and a version) to its data. Errors are
/// AWS's: Malformed/NotFound for the template, VersionNotFound for the version.
pub fn resolve(ctx: &Ctx<'_>, tx: &mut Txn<'_>, spec: &dto::LaunchTemplateSpecification) -> Result<Resolved> {
    let which = named(&spec.launch_template_id, &spec.launch_template_name)?;
    let version = lt::parse_version(spec.version.as_deref().unwrap_or("$Default")).map_err(|e| lt_error(None, e))?;
    let template = find(ctx, tx, &which)?;
    let n = template.resolve(version).map_err(|e| lt_error(Some(&template), e))?;
    let v = load_version(ctx, tx, &template, n)?;
    Ok(Resolved { template, version: n, data: v.data })
}

// ---------------------------------------------------------------------------------------------
// Handlers

pub fn create_launch_template(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateLaunchTemplateRequest,
) -> Result<dto::CreateLaunchTemplateResult> {
    let name = req.launch_template_name.clone().unwrap_or_default();
    lt::check_name(&name).map_err(|e| lt_error(None, e))?;
    lt::check_description(req.version_description.as_deref()).map_err(|e| lt_error(None, e))?;
    let given = req.launch_template_data.clone().unwrap_or_default();
    check_data(&given)?;
    let specs = tag_specifications(&req.tag_specifications, &[RESOURCE_TYPE])?;
    dry_run_gate(ctx, req.dry_run)?;
    let token_key = req.client_token.as_ref().map(|t| format!("CreateLaunchTemplate/{}/{t}", ctx.scope.key()));
    let print = fingerprint(&dto::CreateLaunchTemplateRequest { client_token: None, dry_run: None, ..req.clone() });
    if let Some(done) = replay(ctx, tx, token_key.as_deref(), &print)? {
        let t = load_named::<LaunchTemplate>(ctx, tx, IdKind::LaunchTemplate, &done)?.remove(0);
        let tags = tags_of(ctx, tx, &t.id)?;
        return Ok(dto::CreateLaunchTemplateResult { launch_template: Some(template_dto(&t, &tags)), warning: None });
    }
    if by_name(ctx, tx, &name)?.is_some() {
        return Err(Ec2Error::new(
            Code::InvalidLaunchTemplateNameAlreadyExists,
            format!("Launch template name already in use: {name}."),
        )
        .into());
    }
    let id = new_id(ctx, tx, IdKind::LaunchTemplate)?;
    let t = LaunchTemplate::new(id.clone(), name.clone(), ctx.now, created_by(ctx));
    let v = LaunchTemplateVersion {
        id: LaunchTemplateVersion::key(&id, 1),
        template_id: id.clone(),
        template_name: name,
        number: 1,
        description: req.version_description.clone(),
        create_time: ctx.now,
        created_by: created_by(ctx),
        data: data_of_request(&given),
    };
    let scope = ctx.scope.key();
    tx.put(scope, &t)?;
    tx.put(scope, &v)?;
    let tags: BTreeMap<String, String> = tags_for(&specs, RESOURCE_TYPE).into_iter().collect();
    if !tags.is_empty() {
        tx.put(scope, &ResourceTags { id: id.clone(), resource_type: RESOURCE_TYPE.into(), tags: tags.clone() })?;
    }
    remember(ctx, tx, token_key, print, vec![id])?;
    Ok(dto::CreateLaunchTemplateResult { launch_template: Some(template_dto(&t, &tags)), warning: None })
}

/// A template with its tags, for filters.
pub struct TemplateRow {
    pub template: LaunchTemplate,
    pub tags: BTreeMap<String, String>,
}

static TEMPLATE_FILTERS: FilterTable<TemplateRow> = FilterTable {
    entries: &[
        ("create-time", |r| vec![r.template.create_time.to_iso8601()]),
        ("launch-template-name", |r| vec![r.template.name.clone()]),
    ],
    tags: Some(|r| &r.tags),
};

pub fn describe_launch_templates(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeLaunchTemplatesRequest,
) -> Result<dto::DescribeLaunchTemplatesResult> {
    let filters = filters(&TEMPLATE_FILTERS, &req.filters)?;
    let ids = well_formed(IdKind::LaunchTemplate, req.launch_template_ids.as_deref().unwrap_or_default())?;
    let names = req.launch_template_names.clone().unwrap_or_default();
    for n in &names {
        lt::check_name(n).map_err(|e| lt_error(None, e))?;
    }
    let bounds = one_to_two_hundred();
    if let Some(n) = req.max_results {
        if n < bounds.min || n > bounds.max {
            return Err(Ec2Error::invalid_parameter_value((bounds.message)(n)).into());
        }
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut templates: Vec<LaunchTemplate> = if ids.is_empty() && names.is_empty() {
        all_templates(ctx, tx)?
    } else {
        let mut out: Vec<LaunchTemplate> = load_named(ctx, tx, IdKind::LaunchTemplate, &ids)?;
        if !names.is_empty() {
            let all = all_templates(ctx, tx)?;
            let missing: Vec<&String> = names.iter().filter(|n| !all.iter().any(|t| &t.name == *n)).collect();
            if let Some(n) = missing.first() {
                return Err(name_not_found(n).into());
            }
            out.extend(all.into_iter().filter(|t| names.contains(&t.name)));
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        out
    };
    templates.sort_by(|a, b| a.id.cmp(&b.id));
    let mut rows = Vec::with_capacity(templates.len());
    for t in templates {
        let tags = tags_of(ctx, tx, &t.id)?;
        let row = TemplateRow { template: t, tags };
        if TEMPLATE_FILTERS.matches(&row, &filters) {
            rows.push(row);
        }
    }
    let (page, next) = paginate(rows, |r| r.template.id.clone(), req.max_results, req.next_token.as_deref(), &bounds)?;
    Ok(dto::DescribeLaunchTemplatesResult {
        launch_templates: Some(page.iter().map(|r| template_dto(&r.template, &r.tags)).collect()),
        next_token: next,
    })
}

pub fn delete_launch_template(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DeleteLaunchTemplateRequest,
) -> Result<dto::DeleteLaunchTemplateResult> {
    let which = named(&req.launch_template_id, &req.launch_template_name)?;
    dry_run_gate(ctx, req.dry_run)?;
    let t = find(ctx, tx, &which)?;
    let tags = tags_of(ctx, tx, &t.id)?;
    let scope = ctx.scope.key();
    for n in &t.versions {
        tx.delete::<LaunchTemplateVersion>(scope, &LaunchTemplateVersion::key(&t.id, *n))?;
    }
    tx.delete::<ResourceTags>(scope, &t.id)?;
    tx.delete::<LaunchTemplate>(scope, &t.id)?;
    Ok(dto::DeleteLaunchTemplateResult { launch_template: Some(template_dto(&t, &tags)) })
}

pub fn create_launch_template_version(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateLaunchTemplateVersionRequest,
) -> Result<dto::CreateLaunchTemplateVersionResult> {
    let which = named(&req.launch_template_id, &req.launch_template_name)?;
    lt::check_description(req.version_description.as_deref()).map_err(|e| lt_error(None, e))?;
    let source = match &req.source_version {
        None => None,
        Some(s) => Some(lt::parse_version(s).map_err(|e| lt_error(None, e))?),
    };
    let given = req.launch_template_data.clone().unwrap_or_default();
    check_data(&given)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut t = find(ctx, tx, &which)?;
    let token_key =
        req.client_token.as_ref().map(|tok| format!("CreateLaunchTemplateVersion/{}/{tok}", ctx.scope.key()));
    let print =
        fingerprint(&dto::CreateLaunchTemplateVersionRequest { client_token: None, dry_run: None, ..req.clone() });
    if let Some(done) = replay(ctx, tx, token_key.as_deref(), &print)? {
        if let Some(key) = done.first() {
            if let Some(v) = tx.get::<LaunchTemplateVersion>(ctx.scope.key(), key)? {
                return Ok(dto::CreateLaunchTemplateVersionResult {
                    launch_template_version: Some(version_dto(&t, &v)?),
                    warning: None,
                });
            }
        }
    }
    let source_data = match source {
        None => None,
        Some(r) => {
            let n = t.resolve(r).map_err(|e| lt_error(Some(&t), e))?;
            Some(load_version(ctx, tx, &t, n)?.data)
        }
    };
    let data = lt::derive(source_data.as_ref(), &data_of_request(&given));
    let n = t.add_version().map_err(|e| lt_error(Some(&t), e))?;
    let v = LaunchTemplateVersion {
        id: LaunchTemplateVersion::key(&t.id, n),
        template_id: t.id.clone(),
        template_name: t.name.clone(),
        number: n,
        description: req.version_description.clone(),
        create_time: ctx.now,
        created_by: created_by(ctx),
        data,
    };
    let scope = ctx.scope.key();
    tx.put(scope, &t)?;
    tx.put(scope, &v)?;
    remember(ctx, tx, token_key, print, vec![v.id.clone()])?;
    Ok(dto::CreateLaunchTemplateVersionResult { launch_template_version: Some(version_dto(&t, &v)?), warning: None })
}

/// A version with its template, for filters.
pub struct VersionRow {
    pub template: LaunchTemplate,
    pub version: LaunchTemplateVersion,
}

fn path(r: &VersionRow, p: &[&str]) -> Vec<String> {
    lt::texts(&r.version.data, p)
}

static VERSION_FILTERS: FilterTable<VersionRow> = FilterTable {
    entries: &[
        ("create-time", |r| vec![r.version.create_time.to_iso8601()]),
        ("ebs-optimized", |r| path(r, &["EbsOptimized"])),
        ("http-endpoint", |r| path(r, &["MetadataOptions", "HttpEndpoint"])),
        ("http-protocol-ipv4", |r| path(r, &["MetadataOptions", "HttpProtocolIpv4"])),
        ("http-protocol-ipv6", |r| path(r, &["MetadataOptions", "HttpProtocolIpv6"])),
        ("http-put-response-hop-limit", |r| path(r, &["MetadataOptions", "HttpPutResponseHopLimit"])),
        ("http-tokens", |r| path(r, &["MetadataOptions", "HttpTokens"])),
        ("host-resource-group-arn", |r| path(r, &["Placement", "HostResourceGroupArn"])),
        ("iam-instance-profile", |r| {
            let mut v = path(r, &["IamInstanceProfile", "Arn"]);
            v.extend(path(r, &["IamInstanceProfile", "Name"]));
            v
        }),
        ("image-id", |r| path(r, &["ImageId"])),
        ("instance-type", |r| path(r, &["InstanceType"])),
        ("is-default-version", |r| vec![(r.version.number == r.template.default_version).to_string()]),
        ("kernel-id", |r| path(r, &["KernelId"])),
        ("license-configuration-arn", |r| path(r, &["LicenseSpecifications", "LicenseConfigurationArn"])),
        ("network-card-index", |r| path(r, &["NetworkInterfaces", "NetworkCardIndex"])),
        ("ram-disk-id", |r| path(r, &["RamDiskId"])),
    ],
    tags: None,
};

fn parse_bound(v: &Option<String>) -> Result<Option<u64>> {
    match v {
        None => Ok(None),
        Some(s) => match lt::parse_version(s) {
            Ok(VersionRef::Number(n)) => Ok(Some(n)),
            _ => Err(version_malformed(s).into()),
        },
    }
}

pub fn describe_launch_template_versions(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeLaunchTemplateVersionsRequest,
) -> Result<dto::DescribeLaunchTemplateVersionsResult> {
    let filters = filters(&VERSION_FILTERS, &req.filters)?;
    let refs: Vec<VersionRef> = req
        .versions
        .iter()
        .flatten()
        .map(|v| lt::parse_version(v).map_err(|e| lt_error(None, e).into()))
        .collect::<Result<_>>()?;
    let (min, max) = (parse_bound(&req.min_version)?, parse_bound(&req.max_version)?);
    let neither = req.launch_template_id.as_deref().unwrap_or_default().is_empty()
        && req.launch_template_name.as_deref().unwrap_or_default().is_empty();
    // Without a template, only $Latest and $Default versions can be asked for, across every template.
    let which = if neither {
        if refs.is_empty() || refs.iter().any(|r| matches!(r, VersionRef::Number(_))) {
            return Err(Ec2Error::missing_parameter("LaunchTemplateId or LaunchTemplateName").into());
        }
        None
    } else {
        Some(named(&req.launch_template_id, &req.launch_template_name)?)
    };
    if let Some(n) = req.max_results {
        if !(1..=200).contains(&n) {
            return Err(Ec2Error::invalid_parameter_value((one_to_two_hundred().message)(n)).into());
        }
    }
    dry_run_gate(ctx, req.dry_run)?;
    let templates = match &which {
        Some(w) => vec![find(ctx, tx, w)?],
        None => all_templates(ctx, tx)?,
    };
    let mut rows = Vec::new();
    for t in templates {
        let numbers = t.select(&refs, min, max).map_err(|e| lt_error(Some(&t), e))?;
        for n in numbers {
            let version = load_version(ctx, tx, &t, n)?;
            let row = VersionRow { template: t.clone(), version };
            if VERSION_FILTERS.matches(&row, &filters) {
                rows.push(row);
            }
        }
    }
    let (page, next) =
        paginate(rows, |r| r.version.id.clone(), req.max_results, req.next_token.as_deref(), &one_to_two_hundred())?;
    Ok(dto::DescribeLaunchTemplateVersionsResult {
        launch_template_versions: Some(
            page.iter().map(|r| version_dto(&r.template, &r.version)).collect::<Result<Vec<_>>>()?,
        ),
        next_token: next,
    })
}

pub fn delete_launch_template_versions(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DeleteLaunchTemplateVersionsRequest,
) -> Result<dto::DeleteLaunchTemplateVersionsResult> {
    let which = named(&req.launch_template_id, &req.launch_template_name)?;
    let requested = req.versions.clone().unwrap_or_default();
    if requested.is_empty() {
        return Err(Ec2Error::missing_parameter("LaunchTemplateVersion").into());
    }
    if requested.len() > 200 {
        return Err(Ec2Error::invalid_parameter_value("You can delete at most 200 versions in one request.").into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let error_item = |id: Option<String>, name: Option<String>, n: Option<u64>, code: &str, message: String| {
        dto::DeleteLaunchTemplateVersionsResponseErrorItem {
            launch_template_id: id,
            launch_template_name: name,
            version_number: n.map(|n| n as i64),
            response_error: Some(dto::ResponseError { code: Some(code.into()), message: Some(message) }),
        }
    };
    let found = match &which {
        Named::Id(id) => tx.get::<LaunchTemplate>(ctx.scope.key(), id)?,
        Named::Name(name) => by_name(ctx, tx, name)?,
    };
    let Some(mut t) = found else {
        // Each version is refused on its own: the template does not exist.
        let (id, name, code, message) = match &which {
            Named::Id(id) => (
                Some(id.clone()),
                None,
                "launchTemplateIdDoesNotExist",
                format!("The launch template ID '{id}' does not exist"),
            ),
            Named::Name(n) => (
                None,
                Some(n.clone()),
                "launchTemplateNameDoesNotExist",
                format!("The launch template name '{n}' does not exist"),
            ),
        };
        let errors = requested
            .iter()
            .map(|v| error_item(id.clone(), name.clone(), v.parse().ok(), code, message.clone()))
            .collect();
        return Ok(dto::DeleteLaunchTemplateVersionsResult {
            successfully_deleted_launch_template_versions: Some(Vec::new()),
            unsuccessfully_deleted_launch_template_versions: Some(errors),
        });
    };
    let outcome = t.delete_versions(&requested);
    let scope = ctx.scope.key();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (asked, res) in outcome {
        match res {
            Ok(n) => {
                tx.delete::<LaunchTemplateVersion>(scope, &LaunchTemplateVersion::key(&t.id, n))?;
                ok.push(dto::DeleteLaunchTemplateVersionsResponseSuccessItem {
                    launch_template_id: Some(t.id.clone()),
                    launch_template_name: Some(t.name.clone()),
                    version_number: Some(n as i64),
                });
            }
            Err(DeleteRefusal::IsDefault(n)) => failed.push(error_item(
                Some(t.id.clone()),
                Some(t.name.clone()),
                Some(n),
                "unexpectedError",
                format!("Version {n} is the default version of launch template {} and cannot be deleted.", t.id),
            )),
            Err(DeleteRefusal::NotFound(n)) => failed.push(error_item(
                Some(t.id.clone()),
                Some(t.name.clone()),
                Some(n),
                "launchTemplateVersionDoesNotExist",
                format!("Version {n} of launch template {} does not exist.", t.id),
            )),
            Err(DeleteRefusal::Malformed) => failed.push(error_item(
                Some(t.id.clone()),
                Some(t.name.clone()),
                None,
                "launchTemplateVersionDoesNotExist",
                format!("The version '{asked}' is not a version number."),
            )),
        }
    }
    tx.put(scope, &t)?;
    Ok(dto::DeleteLaunchTemplateVersionsResult {
        successfully_deleted_launch_template_versions: Some(ok),
        unsuccessfully_deleted_launch_template_versions: Some(failed),
    })
}

pub fn modify_launch_template(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyLaunchTemplateRequest,
) -> Result<dto::ModifyLaunchTemplateResult> {
    let which = named(&req.launch_template_id, &req.launch_template_name)?;
    let default = match &req.default_version {
        None => None,
        Some(s) => match lt::parse_version(s) {
            Ok(VersionRef::Number(n)) => Some(n),
            _ => return Err(version_malformed(s).into()),
        },
    };
    dry_run_gate(ctx, req.dry_run)?;
    let mut t = find(ctx, tx, &which)?;
    if let Some(n) = default {
        t.set_default(VersionRef::Number(n)).map_err(|e| lt_error(Some(&t), e))?;
        tx.put(ctx.scope.key(), &t)?;
    }
    let tags = tags_of(ctx, tx, &t.id)?;
    Ok(dto::ModifyLaunchTemplateResult { launch_template: Some(template_dto(&t, &tags)) })
}

pub fn get_launch_template_data(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::GetLaunchTemplateDataRequest,
) -> Result<dto::GetLaunchTemplateDataResult> {
    let id = req.instance_id.clone().unwrap_or_default();
    well_formed(IdKind::Instance, std::slice::from_ref(&id))?;
    dry_run_gate(ctx, req.dry_run)?;
    let inst = instances::load_many(ctx, tx, std::slice::from_ref(&id))?.remove(0);
    Ok(dto::GetLaunchTemplateDataResult { launch_template_data: Some(response_data(&lt::data_of_instance(&inst))?) })
}

/// Whether a launch template exists (for CreateTags/DeleteTags on `lt-` IDs).
pub fn exists(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<bool> {
    Ok(tx.get::<LaunchTemplate>(ctx.scope.key(), id)?.is_some())
}

/// The NotFound error of an unknown launch template ID.
pub fn id_not_found(id: &str) -> Ec2Error {
    not_found(IdKind::LaunchTemplate, &[id.to_string()])
}

// ---------------------------------------------------------------------------------------------
// RunInstances from a template

/// The `LaunchTemplate` of a RunInstances request, checked for syntax (ID or name, version).
pub fn check_spec(spec: &dto::LaunchTemplateSpecification) -> Result<()> {
    named(&spec.launch_template_id, &spec.launch_template_name)?;
    lt::parse_version(spec.version.as_deref().unwrap_or("$Default")).map_err(|e| lt_error(None, e))?;
    Ok(())
}

/// Sets `slot` from the template's member `member` when the request left it unset.
fn fill<T: FromJson>(slot: &mut Option<T>, data: &LaunchData, member: &str) -> Result<()> {
    if slot.is_none() {
        if let Some(v) = data.get(member).filter(|v| !v.is_null()) {
            let value = T::from_json(v).map_err(|e| {
                Ec2Error::internal(format!("The launch template's {member} cannot be used in RunInstances ({e})."))
            })?;
            *slot = Some(value);
        }
    }
    Ok(())
}

/// The RunInstances request a launch from a template amounts to: every parameter the request sets
/// itself stays (it overrides the template's member of the same meaning, as a whole), every other
/// one comes from the template version. Tag specifications are merged by resource type, the
/// request's value winning for a key both give. The result names no template any more.
pub fn run_request(req: &dto::RunInstancesRequest, data: &LaunchData) -> Result<dto::RunInstancesRequest> {
    let mut r = dto::RunInstancesRequest { launch_template: None, ..req.clone() };
    // The request's own parameters, in the template's member names, decide what is overridden.
    let own: LaunchData = match req.to_json() {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => LaunchData::new(),
    };
    fill(&mut r.block_device_mappings, data, "BlockDeviceMappings")?;
    fill(&mut r.image_id, data, "ImageId")?;
    fill(&mut r.instance_type, data, "InstanceType")?;
    fill(&mut r.kernel_id, data, "KernelId")?;
    fill(&mut r.key_name, data, "KeyName")?;
    fill(&mut r.monitoring, data, "Monitoring")?;
    fill(&mut r.placement, data, "Placement")?;
    fill(&mut r.ramdisk_id, data, "RamDiskId")?;
    fill(&mut r.user_data, data, "UserData")?;
    // Shapes whose RunInstances form has no JSON view: read member by member.
    use json_members::{b, i, st};
    let get = |m: &str| data.get(m).filter(|v| !v.is_null());
    if r.elastic_gpu_specification.is_none() {
        r.elastic_gpu_specification = get("ElasticGpuSpecifications")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|g| dto::ElasticGpuSpecification { r#type: st(g, "Type") }).collect());
    }
    if r.elastic_inference_accelerators.is_none() {
        r.elastic_inference_accelerators = get("ElasticInferenceAccelerators").and_then(|v| v.as_array()).map(|a| {
            a.iter().map(|g| dto::ElasticInferenceAccelerator { r#type: st(g, "Type"), count: i(g, "Count") }).collect()
        });
    }
    if r.instance_market_options.is_none() {
        r.instance_market_options = get("InstanceMarketOptions").map(|m| dto::InstanceMarketOptionsRequest {
            market_type: st(m, "MarketType"),
            spot_options: m.get("SpotOptions").map(|o| dto::SpotMarketOptions {
                max_price: st(o, "MaxPrice"),
                spot_instance_type: st(o, "SpotInstanceType"),
                block_duration_minutes: i(o, "BlockDurationMinutes"),
                valid_until: st(o, "ValidUntil").and_then(|t| ec2_time::parse_iso8601(&t)),
                instance_interruption_behavior: st(o, "InstanceInterruptionBehavior"),
            }),
        });
    }
    if r.credit_specification.is_none() {
        r.credit_specification =
            get("CreditSpecification").map(|c| dto::CreditSpecificationRequest { cpu_credits: st(c, "CpuCredits") });
    }
    if r.cpu_options.is_none() {
        r.cpu_options = get("CpuOptions").map(|c| dto::CpuOptionsRequest {
            core_count: i(c, "CoreCount"),
            threads_per_core: i(c, "ThreadsPerCore"),
            amd_sev_snp: st(c, "AmdSevSnp"),
            nested_virtualization: st(c, "NestedVirtualization"),
        });
    }
    if r.capacity_reservation_specification.is_none() {
        r.capacity_reservation_specification =
            get("CapacityReservationSpecification").map(|c| dto::CapacityReservationSpecification {
                capacity_reservation_preference: st(c, "CapacityReservationPreference"),
                capacity_reservation_target: c.get("CapacityReservationTarget").map(|t| {
                    dto::CapacityReservationTarget {
                        capacity_reservation_id: st(t, "CapacityReservationId"),
                        capacity_reservation_resource_group_arn: st(t, "CapacityReservationResourceGroupArn"),
                    }
                }),
            });
    }
    if r.hibernation_options.is_none() {
        r.hibernation_options =
            get("HibernationOptions").map(|h| dto::HibernationOptionsRequest { configured: b(h, "Configured") });
    }
    if r.license_specifications.is_none() {
        r.license_specifications = get("LicenseSpecifications").and_then(|v| v.as_array()).map(|a| {
            a.iter()
                .map(|l| dto::LicenseConfigurationRequest {
                    license_configuration_arn: st(l, "LicenseConfigurationArn"),
                })
                .collect()
        });
    }
    if r.metadata_options.is_none() {
        r.metadata_options = get("MetadataOptions").map(|m| dto::InstanceMetadataOptionsRequest {
            http_tokens: st(m, "HttpTokens"),
            http_put_response_hop_limit: i(m, "HttpPutResponseHopLimit"),
            http_endpoint: st(m, "HttpEndpoint"),
            http_protocol_ipv6: st(m, "HttpProtocolIpv6"),
            instance_metadata_tags: st(m, "InstanceMetadataTags"),
        });
    }
    if r.enclave_options.is_none() {
        r.enclave_options = get("EnclaveOptions").map(|e| dto::EnclaveOptionsRequest { enabled: b(e, "Enabled") });
    }
    if r.private_dns_name_options.is_none() {
        r.private_dns_name_options = get("PrivateDnsNameOptions").map(|p| dto::PrivateDnsNameOptionsRequest {
            hostname_type: st(p, "HostnameType"),
            enable_resource_name_dns_a_record: b(p, "EnableResourceNameDnsARecord"),
            enable_resource_name_dns_aaaa_record: b(p, "EnableResourceNameDnsAAAARecord"),
        });
    }
    if r.maintenance_options.is_none() {
        r.maintenance_options = get("MaintenanceOptions")
            .map(|m| dto::InstanceMaintenanceOptionsRequest { auto_recovery: st(m, "AutoRecovery") });
    }
    fill(&mut r.disable_api_stop, data, "DisableApiStop")?;
    fill(&mut r.disable_api_termination, data, "DisableApiTermination")?;
    fill(&mut r.instance_initiated_shutdown_behavior, data, "InstanceInitiatedShutdownBehavior")?;
    fill(&mut r.iam_instance_profile, data, "IamInstanceProfile")?;
    fill(&mut r.ebs_optimized, data, "EbsOptimized")?;
    if r.network_performance_options.is_none() {
        r.network_performance_options = get("NetworkPerformanceOptions").map(|n| {
            dto::InstanceNetworkPerformanceOptionsRequest { bandwidth_weighting: st(n, "BandwidthWeighting") }
        });
    }
    // Security groups and network interfaces: the request's choice of either replaces the
    // template's network settings as a whole.
    let request_networks = own.contains_key("NetworkInterfaces") || own.contains_key("SubnetId");
    let request_groups = own.contains_key("SecurityGroupIds") || own.contains_key("SecurityGroups");
    if !request_networks && !request_groups {
        fill(&mut r.network_interfaces, data, "NetworkInterfaces")?;
    }
    if r.network_interfaces.is_none() && !request_groups {
        fill(&mut r.security_group_ids, data, "SecurityGroupIds")?;
        fill(&mut r.security_groups, data, "SecurityGroups")?;
    }
    // Tags: the template's, then the request's on top, per resource type.
    let template_specs: Vec<dto::TagSpecification> = get("TagSpecifications")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|t| dto::TagSpecification {
                    resource_type: st(t, "ResourceType"),
                    tags: t.get("Tags").and_then(|v| v.as_array()).map(|tags| {
                        tags.iter().map(|x| dto::Tag { key: st(x, "Key"), value: st(x, "Value") }).collect()
                    }),
                })
                .collect()
        })
        .unwrap_or_default();
    r.tag_specifications = merge_tag_specs(template_specs, req.tag_specifications.clone());
    Ok(r)
}

fn merge_tag_specs(
    template: Vec<dto::TagSpecification>,
    request: Option<Vec<dto::TagSpecification>>,
) -> Option<Vec<dto::TagSpecification>> {
    let mut by_type: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for spec in template.into_iter().chain(request.clone().unwrap_or_default()) {
        let rt = spec.resource_type.clone().unwrap_or_default();
        if !order.contains(&rt) {
            order.push(rt.clone());
        }
        let tags = by_type.entry(rt).or_default();
        for t in spec.tags.unwrap_or_default() {
            tags.insert(t.key.unwrap_or_default(), t.value.unwrap_or_default());
        }
    }
    if order.is_empty() {
        return request;
    }
    Some(
        order
            .into_iter()
            .map(|rt| {
                let tags = by_type.remove(&rt).unwrap_or_default();
                dto::TagSpecification {
                    resource_type: Some(rt),
                    tags: Some(tags.into_iter().map(|(k, v)| dto::Tag { key: Some(k), value: Some(v) }).collect()),
                }
            })
            .collect(),
    )
}

/// The tags AWS puts on an instance launched from a template.
pub fn launch_tags(r: &Resolved) -> Vec<(String, String)> {
    vec![
        ("aws:ec2launchtemplate:id".into(), r.template.id.clone()),
        ("aws:ec2launchtemplate:version".into(), r.version.to_string()),
    ]
}

/// Readers of one member of a JSON object, by model name.
mod json_members {
    use serde_json::Value;

    pub fn st(v: &Value, k: &str) -> Option<String> {
        v.get(k).and_then(|x| x.as_str()).map(str::to_string)
    }
    pub fn b(v: &Value, k: &str) -> Option<bool> {
        v.get(k).and_then(|x| x.as_bool())
    }
    pub fn i(v: &Value, k: &str) -> Option<i64> {
        v.get(k).and_then(|x| x.as_i64())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data(v: serde_json::Value) -> LaunchData {
        serde_json::from_value(v).unwrap()
    }

    fn tags(r: &dto::RunInstancesRequest, rt: &str) -> Vec<(String, String)> {
        r.tag_specifications
            .iter()
            .flatten()
            .filter(|s| s.resource_type.as_deref() == Some(rt))
            .flat_map(|s| s.tags.clone().unwrap_or_default())
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn the_request_overrides_the_template_member_by_member() {
        let d = data(json!({
            "ImageId": "ami-1", "InstanceType": "t3.micro", "KeyName": "k", "SecurityGroupIds": ["sg-1"],
            "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 1}, "MetadataOptions": {"HttpTokens": "required"},
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}],
        }));
        let req = dto::RunInstancesRequest {
            instance_type: Some("m5.large".into()),
            tag_specifications: Some(vec![dto::TagSpecification {
                resource_type: Some("instance".into()),
                tags: Some(vec![dto::Tag { key: Some("b".into()), value: Some("3".into()) }]),
            }]),
            launch_template: Some(dto::LaunchTemplateSpecification::default()),
            ..Default::default()
        };
        let r = run_request(&req, &d).unwrap();
        assert_eq!(r.launch_template, None);
        assert_eq!(r.image_id.as_deref(), Some("ami-1"));
        assert_eq!(r.instance_type.as_deref(), Some("m5.large"));
        assert_eq!(r.key_name.as_deref(), Some("k"));
        assert_eq!(r.security_group_ids, Some(vec!["sg-1".to_string()]));
        assert_eq!(r.cpu_options.as_ref().and_then(|c| c.core_count), Some(2));
        assert_eq!(r.metadata_options.as_ref().and_then(|m| m.http_tokens.as_deref()), Some("required"));
        assert_eq!(tags(&r, "instance"), [("a".into(), "1".into()), ("b".into(), "3".into())]);
    }

    #[test]
    fn the_requests_network_choice_replaces_the_templates() {
        let d = data(json!({"ImageId": "ami-1", "SecurityGroupIds": ["sg-1"],
            "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": "subnet-1"}]}));
        let with_groups =
            dto::RunInstancesRequest { security_group_ids: Some(vec!["sg-2".into()]), ..Default::default() };
        let r = run_request(&with_groups, &d).unwrap();
        assert_eq!((r.network_interfaces, r.security_group_ids), (None, Some(vec!["sg-2".to_string()])));
        let plain = run_request(&dto::RunInstancesRequest::default(), &d).unwrap();
        assert_eq!(plain.network_interfaces.map(|n| n.len()), Some(1));
        // With the template's interfaces, its instance-level groups are not added as well.
        assert_eq!(plain.security_group_ids, None);
    }

    #[test]
    fn stored_data_reads_back_as_the_response_shape() {
        let req = dto::RequestLaunchTemplateData {
            image_id: Some("ami-1".into()),
            security_group_ids: Some(vec!["sg-1".into()]),
            monitoring: Some(dto::LaunchTemplatesMonitoringRequest { enabled: Some(true) }),
            ..Default::default()
        };
        let back = response_data(&data_of_request(&req)).unwrap();
        assert_eq!(back.image_id.as_deref(), Some("ami-1"));
        assert_eq!(back.security_group_ids, Some(vec!["sg-1".to_string()]));
        assert_eq!(back.monitoring.and_then(|m| m.enabled), Some(true));
    }
}
