import{a as e,c as t,i as n,r,s as i}from"./index-BNBd5iUz.js";var a=`query($statuses: [String!], $kinds: [String!], $maxSeverity: Int, $liveOnly: Boolean!) {
  alarms(statuses: $statuses, kinds: $kinds, maxSeverity: $maxSeverity, liveOnly: $liveOnly, first: 200) { uid rule kind condition entityUid device severity status description count openedAt lastSeen
  acknowledgedAt dispatchedAt resolvedAt closedAt clearedAt handler cameras building grid assignees unlocked unlockedAt
  history live
  nextStatuses entity { uid caption label } } }`,o=`mutation($uid: ID!, $to: AlarmStatus!) { transitionAlarm(uid: $uid, to: $to) {
  __typename ... on AlarmState { uid status } ... on IllegalTransitionProblem { current to allowed }
  ... on NotFound { uid } ... on ValidationProblem { field reason } } }`,s=`subscription { alarmChanged { change alarm { uid status kind } } }`,c=new Set([`smoke`,`heat`,`gas`,`fire_door_open`]),l=[`open`,`acknowledged`,`dispatched`,`resolved`,`closed`,`cleared`],u={acknowledged:`Acknowledge`,dispatched:`Dispatch`,resolved:`Resolve`,closed:`Close`};function d(e){switch(e.__typename){case`AlarmState`:return``;case`IllegalTransitionProblem`:return`cannot move from ${e.current} to ${e.to}; allowed: ${e.allowed.join(`, `)||`none`}`;case`NotFound`:return`no alarm ${e.uid}`;default:return`${e.field}: ${e.reason}`}}function f(f){f.innerHTML=`
    <form class="filters card">
      <fieldset><legend>Status</legend>
        ${l.map(e=>`<label><input type="checkbox" name="status" value="${e}" ${[`open`,`acknowledged`,`dispatched`].includes(e)?`checked`:``}/> ${e}</label>`).join(``)}
      </fieldset>
      <label>Kind <input name="kind" placeholder="smoke, perimeter_intrusion…" /></label>
      <label>Severity at most <select name="severity"><option value="">any</option>${[1,2,3,4].map(e=>`<option>${e}</option>`).join(``)}</select></label>
      <label><input type="checkbox" name="live" /> still live only</label>
      <span class="live">○ live</span>
    </form>
    <p class="error" role="alert"></p>
    <table class="alarms"><thead><tr><th>sev</th><th>kind</th><th>status</th><th>on</th><th>device</th>
      <th>opened</th><th>last seen</th><th>count</th><th>handler</th><th>workflow</th></tr></thead><tbody></tbody></table>
    <section class="linkage card" hidden></section>`;let p=f.querySelector(`.filters`),m=f.querySelector(`tbody`),h=f.querySelector(`.linkage`),g=f.querySelector(`.error`),_=[],v=null,y=()=>{let e=new FormData(p),t=String(e.get(`kind`)||``).split(`,`).map(e=>e.trim()).filter(Boolean);return{statuses:e.getAll(`status`),kinds:t.length?t:null,maxSeverity:e.get(`severity`)?Number(e.get(`severity`)):null,liveOnly:e.get(`live`)===`on`}},b=()=>{m.innerHTML=_.map(e=>`<tr class="sev${e.severity} ${e.uid===v?`selected`:``}" data-alarm="${n(e.uid)}">
        <td>${e.severity}</td><td>${n(e.kind)}</td><td class="status">${n(e.status)}${e.live?``:` <small>(ended)</small>`}</td>
        <td>${r(e.entityUid,e.entity?.caption)}</td><td>${n(e.device??``)}</td>
        <td>${n(t(e.openedAt))}</td><td>${n(t(e.lastSeen))}</td><td>${e.count}</td><td>${n(e.handler??``)}</td>
        <td>${e.nextStatuses.map(e=>`<button type="button" data-to="${e}">${u[e]??e}</button>`).join(` `)}</td></tr>`).join(``),_.length||(m.innerHTML=`<tr><td colspan="10" class="muted">no alarm matches</td></tr>`)},x=async()=>{try{_=(await e(a,y())).alarms,g.textContent=``}catch(e){g.textContent=e.message}b(),v&&C(_.find(e=>e.uid===v))},S=e=>{if(!c.has(e.kind))return`no door linkage for this kind`;if(!e.unlockedAt)return`<span class="muted">no unlock command recorded (outside a building, or no publisher)</span>`;let i=e.unlocked.length?e.unlocked.map(e=>r(e)).join(`, `):`<span class="muted">no access doors</span>`;return`unlock command sent to the building's access control at ${n(t(e.unlockedAt))}: ${i}`},C=e=>{if(!e){h.hidden=!0;return}h.hidden=!1;let i=(e.history??[]).map(e=>`<li>${n(e.to)} · ${n(t(e.at))} ${e.handler?`by ${n(e.handler)}`:``}</li>`).join(``);h.innerHTML=`<h3>${n(e.kind)} <small>${n(e.uid)}</small></h3>
      <p>${n(e.description??``)} · rule <code>${n(e.rule)}</code> · condition <code>${n(e.condition)}</code></p>
      <h4>Linkage</h4>
      <ul>
        <li>cameras shown: ${e.cameras.length?e.cameras.map(e=>r(e)).join(`, `):`<span class="muted">none</span>`}</li>
        <li>assigned to: ${e.assignees.length?e.assignees.map(e=>r(e)).join(`, `):`<span class="muted">nobody (no grid staff)</span>`}</li>
        <li>building ${e.building?r(e.building):`—`} · grid ${e.grid?r(e.grid):`—`}</li>
        <li class="doors">${S(e)}</li>
      </ul>
      <h4>History</h4><ul>${i||`<li class="muted">no moves yet</li>`}</ul>`};m.addEventListener(`click`,async t=>{let n=t.target.closest(`tr[data-alarm]`);if(!n||t.target.closest(`a`))return;v=n.dataset.alarm;let r=t.target.closest(`button`)?.dataset.to;if(r){let{transitionAlarm:t}=await e(o,{uid:v,to:r.toUpperCase()});g.textContent=d(t),await x()}else b(),C(_.find(e=>e.uid===v))}),p.addEventListener(`change`,x),p.addEventListener(`submit`,e=>e.preventDefault());let w=f.querySelector(`.live`),T=i(s,{},()=>x(),e=>{w.textContent=e===`live`?`● live`:`○ live`,w.classList.toggle(`on`,e===`live`)});return x(),T}export{f as mount};