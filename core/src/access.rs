//! Who may do what. Enforced in the core on every call (docs/ROLES.md has the same matrix);
//! the UI only hides what it would be refused anyway.

/// Who may unlock a store. Permissions per role come with the audit issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum UserRole {
    Leader,
    Deputy,
    Auditor,
}

impl UserRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserRole::Leader => "leader",
            UserRole::Deputy => "deputy",
            UserRole::Auditor => "auditor",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [UserRole::Leader, UserRole::Deputy, UserRole::Auditor]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Permission {
    /// Clubs, members (without survivor status), meetings, consents, support, referrals.
    ReadRecords,
    /// A member's survivor status, the most sensitive fact in the app.
    ReadSurvivorStatus,
    /// Create and change records.
    WriteRecords,
    /// Add users to the store, remove them, set a new PIN for one who forgot hers.
    ManageUsers,
    /// Auditor annotations on any record.
    Annotate,
    /// The audit trail, its verification and the field-audit findings.
    ReadAudit,
    /// A signed audit export for a laptop.
    ExportAudit,
    /// Sign audit checkpoints and sync with the province.
    Sync,
    /// Survivor safety: duress PIN, wipe threshold, erasing a member, recovery and backups.
    Safety,
}

/// The permission matrix.
pub fn allowed(role: UserRole, permission: Permission) -> bool {
    use Permission::*;
    match role {
        UserRole::Leader => matches!(
            permission,
            ReadRecords
                | ReadSurvivorStatus
                | WriteRecords
                | ManageUsers
                | ReadAudit
                | ExportAudit
                | Sync
                | Safety
        ),
        // The deputy keeps the club's records with the leader, but does not look up who is a
        // survivor: she may record it for a new member, and it is withheld when she reads.
        UserRole::Deputy => matches!(permission, ReadRecords | WriteRecords | Sync),
        // Field staff read everything to check it, write only annotations, and take the trail.
        UserRole::Auditor => matches!(
            permission,
            ReadRecords | ReadSurvivorStatus | Annotate | ReadAudit | ExportAudit
        ),
    }
}

pub const ALL_PERMISSIONS: [Permission; 9] = [
    Permission::ReadRecords,
    Permission::ReadSurvivorStatus,
    Permission::WriteRecords,
    Permission::ManageUsers,
    Permission::Annotate,
    Permission::ReadAudit,
    Permission::ExportAudit,
    Permission::Sync,
    Permission::Safety,
];
