-- Access groups as records (package groups). A group's id is the name that
-- members (users.access_groups), invitations, research records and
-- training modules already carry, so nothing that names a group changes:
-- the table adds names and descriptions in the portal's four languages,
-- leads and an archived flag, and is the one list of the groups that may
-- be granted. Archived groups keep working for what already names them;
-- they are only no longer granted.

CREATE TABLE portal_groups (
    id             TEXT PRIMARY KEY,                 -- access.GroupPattern
    name_en        TEXT NOT NULL CHECK (name_en <> ''),
    name_fr        TEXT NOT NULL CHECK (name_fr <> ''),
    name_es        TEXT NOT NULL CHECK (name_es <> ''),
    name_ar        TEXT NOT NULL CHECK (name_ar <> ''),
    description_en TEXT NOT NULL,
    description_fr TEXT NOT NULL,
    description_es TEXT NOT NULL,
    description_ar TEXT NOT NULL,
    archived       BIGINT NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- A lead adds and removes the members of a group, and nothing else.
CREATE TABLE portal_group_leads (
    group_id TEXT NOT NULL REFERENCES portal_groups (id),
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX portal_group_leads_user ON portal_group_leads (user_id);

-- Today's groups: the ones the portal itself names (cmd/portal/seed.go,
-- content/members), with their names in each language, then every other
-- group a member, an invitation or a record carries, named by its id
-- until an admin gives it a name.
INSERT INTO portal_groups (id, name_en, name_fr, name_es, name_ar,
    description_en, description_fr, description_es, description_ar, archived, created_at, updated_at) VALUES
('members', 'All members', 'Tous les membres', 'Todos los miembros', 'جميع الأعضاء',
 'Every member of the specialist group belongs to it.',
 'Tous les membres du groupe spécialisé en font partie.',
 'Todos los miembros del grupo especializado pertenecen a él.',
 'ينتمي إليها كل أعضاء الفريق المتخصص.', 0,
 '2026-12-04T00:00:00.000000000Z', '2026-12-04T00:00:00.000000000Z'),
('victim-identification', 'Victim identification', 'Identification des victimes', 'Identificación de víctimas', 'تحديد هوية الضحايا',
 'Specialists who work on identifying victims.',
 'Spécialistes de l''identification des victimes.',
 'Especialistas en la identificación de víctimas.',
 'المتخصصون في تحديد هوية الضحايا.', 0,
 '2026-12-04T00:00:00.000000000Z', '2026-12-04T00:00:00.000000000Z'),
('access-blocking', 'Access blocking', 'Blocage d''accès', 'Bloqueo de acceso', 'حجب الوصول',
 'Specialists who work on blocking access to listed domains.',
 'Spécialistes du blocage d''accès aux domaines listés.',
 'Especialistas en el bloqueo del acceso a dominios listados.',
 'المتخصصون في حجب الوصول إلى النطاقات المدرجة.', 0,
 '2026-12-04T00:00:00.000000000Z', '2026-12-04T00:00:00.000000000Z'),
('trainers', 'Trainers', 'Formateurs', 'Formadores', 'المدربون',
 'Members who write and run the training.',
 'Membres qui rédigent et animent les formations.',
 'Miembros que redactan e imparten la formación.',
 'الأعضاء الذين يعدون التدريب ويقدمونه.', 0,
 '2026-12-04T00:00:00.000000000Z', '2026-12-04T00:00:00.000000000Z');

INSERT INTO portal_groups (id, name_en, name_fr, name_es, name_ar,
    description_en, description_fr, description_es, description_ar, archived, created_at, updated_at)
SELECT g, g, g, g, g, '', '', '', '', 0, '2026-12-04T00:00:00.000000000Z', '2026-12-04T00:00:00.000000000Z'
FROM (
    SELECT jsonb_array_elements_text(access_groups::jsonb) AS g FROM users
    UNION SELECT jsonb_array_elements_text(access_groups::jsonb) FROM invitations
    UNION SELECT jsonb_array_elements_text(access_groups::jsonb) FROM research_documents
) AS found
WHERE g <> 'public'
ON CONFLICT (id) DO NOTHING;
