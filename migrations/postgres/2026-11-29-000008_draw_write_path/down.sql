ALTER TABLE draw_rounds ALTER COLUMN inputs SET STORAGE EXTENDED;
DROP TRIGGER plans_never_deleted ON plans;
DROP TRIGGER teams_never_deleted ON teams;
DROP TRIGGER establishments_never_deleted ON establishments;
DROP FUNCTION kiemtra_refuse_delete();
ALTER TABLE assignments
    ADD CONSTRAINT assignments_establishment_id_fkey FOREIGN KEY (establishment_id) REFERENCES establishments (id),
    ADD CONSTRAINT assignments_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id),
    ADD CONSTRAINT assignments_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES plans (id);
